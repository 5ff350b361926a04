# The shop's database: encrypted, but one zone, a day of backups and no alarm.
variable "environment" {
  default = "production"
}

resource "aws_db_instance" "orders" {
  identifier              = "orders-${var.environment}"
  engine                  = "postgres"
  instance_class          = "db.r6g.large"
  allocated_storage       = 100
  storage_encrypted       = true
  multi_az                = false
  backup_retention_period = 1
  deletion_protection     = true
  skip_final_snapshot     = false
}
