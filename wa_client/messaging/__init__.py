"""The outbox: stored messages, the send policy, the sender, acks and exactly-once settling."""
