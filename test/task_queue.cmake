# task_queue tests (see test/README.md)
