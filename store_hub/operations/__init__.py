"""Application operations: where domain decisions meet persistence and the outside world."""
