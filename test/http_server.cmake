# http_server tests (see test/README.md)
