# semaphore tests (see test/README.md)
