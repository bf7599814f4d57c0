# serve tests (see test/README.md)
