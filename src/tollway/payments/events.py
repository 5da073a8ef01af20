"""The events payments records (data shapes in docs/payments.md)."""

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
PAYMENT_REFUNDED = "payment.refunded"
PAYMENT_COLLECTED_AFTER_SETTLEMENT = "payment.collected_after_settlement"
PAYMENT_REFUND_FAILED = "payment.refund_failed"
