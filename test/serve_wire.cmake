# serve_wire tests (see test/README.md)
