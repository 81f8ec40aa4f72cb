"""The database spool: durability for accepted messages while RabbitMQ can't confirm them."""
