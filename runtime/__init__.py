"""Client plumbing every stage shares: where Kafka and MinIO are (connection settings), Kafka
client factories, reading a topic to its end, logging. Below the stages, above the contract."""
