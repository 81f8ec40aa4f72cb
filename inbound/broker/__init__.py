"""RabbitMQ: topology, the confirmed publisher, and connection handling."""
