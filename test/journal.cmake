# journal tests (see test/README.md)
