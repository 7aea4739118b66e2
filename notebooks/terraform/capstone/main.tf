terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.0"
    }
  }
}

provider "aws" {
  # the region and credentials come from the environment (AWS_REGION,
  # AWS_PROFILE or AWS_ACCESS_KEY_ID...), as for the AWS CLI
}

variable "prefix" {
  description = "put before every name, to keep these resources apart"
  type        = string
  default     = "lab-"
}

resource "aws_dynamodb_table" "accounts" {
  # checkov:skip=CKV_AWS_28:a course table: point-in-time recovery is billed and not needed
  # checkov:skip=CKV_AWS_119:encrypted with the AWS owned key, DynamoDB's default
  name         = "${var.prefix}accounts"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "customer"

  attribute {
    name = "customer"
    type = "S"
  }
}

resource "aws_dynamodb_table" "couriers" {
  # checkov:skip=CKV_AWS_28:a course table: point-in-time recovery is billed and not needed
  # checkov:skip=CKV_AWS_119:encrypted with the AWS owned key, DynamoDB's default
  name         = "${var.prefix}couriers"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "country"

  attribute {
    name = "country"
    type = "S"
  }
}

resource "aws_dynamodb_table" "inventory" {
  # checkov:skip=CKV_AWS_28:a course table: point-in-time recovery is billed and not needed
  # checkov:skip=CKV_AWS_119:encrypted with the AWS owned key, DynamoDB's default
  name         = "${var.prefix}inventory"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "sku"

  attribute {
    name = "sku"
    type = "S"
  }
}

resource "aws_dynamodb_table" "orders" {
  # checkov:skip=CKV_AWS_28:a course table: point-in-time recovery is billed and not needed
  # checkov:skip=CKV_AWS_119:encrypted with the AWS owned key, DynamoDB's default
  name         = "${var.prefix}orders"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "order_id"

  attribute {
    name = "order_id"
    type = "S"
  }
}

resource "aws_dynamodb_table" "shipments" {
  # checkov:skip=CKV_AWS_28:a course table: point-in-time recovery is billed and not needed
  # checkov:skip=CKV_AWS_119:encrypted with the AWS owned key, DynamoDB's default
  name         = "${var.prefix}shipments"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "order_id"

  attribute {
    name = "order_id"
    type = "S"
  }
}

resource "aws_sqs_queue" "billing" {
  name                    = "${var.prefix}billing"
  sqs_managed_sse_enabled = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.billing_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue" "billing_dlq" {
  name                    = "${var.prefix}billing-dlq"
  sqs_managed_sse_enabled = true
}

resource "aws_sqs_queue" "notifications" {
  name                    = "${var.prefix}notifications"
  sqs_managed_sse_enabled = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.notifications_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue" "notifications_dlq" {
  name                    = "${var.prefix}notifications-dlq"
  sqs_managed_sse_enabled = true
}

resource "aws_sqs_queue" "warehouse" {
  name                    = "${var.prefix}warehouse"
  sqs_managed_sse_enabled = true
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.warehouse_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue" "warehouse_dlq" {
  name                    = "${var.prefix}warehouse-dlq"
  sqs_managed_sse_enabled = true
}

resource "aws_sqs_queue_policy" "billing" {
  queue_url = aws_sqs_queue.billing.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "sender-may-send"
        Effect = "Allow"
        Principal = {
          Service = "sns.amazonaws.com"
        }
        Action   = "sqs:SendMessage"
        Resource = aws_sqs_queue.billing.arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = aws_sns_topic.orders.arn
          }
        }
      },
    ]
  })
}

resource "aws_sqs_queue_policy" "notifications" {
  queue_url = aws_sqs_queue.notifications.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "sender-may-send"
        Effect = "Allow"
        Principal = {
          Service = "sns.amazonaws.com"
        }
        Action   = "sqs:SendMessage"
        Resource = aws_sqs_queue.notifications.arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = aws_sns_topic.orders.arn
          }
        }
      },
    ]
  })
}

resource "aws_sqs_queue_policy" "warehouse" {
  queue_url = aws_sqs_queue.warehouse.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "sender-may-send"
        Effect = "Allow"
        Principal = {
          Service = "sns.amazonaws.com"
        }
        Action   = "sqs:SendMessage"
        Resource = aws_sqs_queue.warehouse.arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = aws_sns_topic.orders.arn
          }
        }
      },
    ]
  })
}

resource "aws_sns_topic" "orders" {
  # checkov:skip=CKV_AWS_26:unencrypted like the lab's topic; a KMS key would need a key policy for every publishing service
  name = "${var.prefix}orders"
}

resource "aws_sns_topic_policy" "orders" {
  arn = aws_sns_topic.orders.arn
  policy = jsonencode({
    Version = "2008-10-17"
    Statement = [
      {
        Sid    = "events-rule-shop-account-orders-may-deliver"
        Effect = "Allow"
        Principal = {
          Service = "events.amazonaws.com"
        }
        Action   = "sns:Publish"
        Resource = aws_sns_topic.orders.arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = aws_cloudwatch_event_rule.account_orders.arn
          }
        }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "orders_to_billing" {
  topic_arn            = aws_sns_topic.orders.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.billing.arn
  raw_message_delivery = true
}

resource "aws_sns_topic_subscription" "orders_to_notifications" {
  topic_arn            = aws_sns_topic.orders.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.notifications.arn
  raw_message_delivery = true
}

resource "aws_sns_topic_subscription" "orders_to_warehouse" {
  topic_arn            = aws_sns_topic.orders.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.warehouse.arn
  raw_message_delivery = true
}

resource "aws_iam_role" "purchase_saga" {
  name = "${var.prefix}purchase-saga"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Principal = {
          Service = "states.amazonaws.com"
        }
        Action = "sts:AssumeRole"
      },
    ]
  })
}

resource "aws_iam_role" "start_purchase" {
  name = "${var.prefix}start-purchase"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Principal = {
          Service = "events.amazonaws.com"
        }
        Action = "sts:AssumeRole"
      },
    ]
  })
}

resource "aws_iam_role" "warehouse_worker_role" {
  name = "${var.prefix}warehouse-worker-role"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Principal = {
          Service = "lambda.amazonaws.com"
        }
        Action = "sts:AssumeRole"
      },
    ]
  })
}

resource "aws_iam_role" "notifications_worker_role" {
  name = "${var.prefix}notifications-worker-role"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Principal = {
          Service = "lambda.amazonaws.com"
        }
        Action = "sts:AssumeRole"
      },
    ]
  })
}

resource "aws_iam_role" "billing_worker_role" {
  name = "${var.prefix}billing-worker-role"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Principal = {
          Service = "lambda.amazonaws.com"
        }
        Action = "sts:AssumeRole"
      },
    ]
  })
}

resource "aws_iam_role_policy" "purchase_saga_flow" {
  name = "flow"
  role = aws_iam_role.purchase_saga.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "dynamodb:PutItem"
        Resource = [aws_dynamodb_table.orders.arn, aws_dynamodb_table.shipments.arn]
      },
      {
        Effect   = "Allow"
        Action   = "dynamodb:UpdateItem"
        Resource = [aws_dynamodb_table.accounts.arn, aws_dynamodb_table.inventory.arn, aws_dynamodb_table.couriers.arn, aws_dynamodb_table.orders.arn]
      },
    ]
  })
}

resource "aws_iam_role_policy" "start_purchase_flow" {
  name = "flow"
  role = aws_iam_role.start_purchase.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = "states:StartExecution"
        Resource = [aws_sfn_state_machine.purchase.arn]
      },
    ]
  })
}

resource "aws_iam_role_policy_attachment" "warehouse_worker_role_awslambdasqsqueueexecutionrole" {
  role       = aws_iam_role.warehouse_worker_role.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
}

resource "aws_iam_role_policy_attachment" "notifications_worker_role_awslambdasqsqueueexecutionrole" {
  role       = aws_iam_role.notifications_worker_role.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
}

resource "aws_iam_role_policy_attachment" "billing_worker_role_awslambdasqsqueueexecutionrole" {
  role       = aws_iam_role.billing_worker_role.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
}

data "archive_file" "warehouse_worker" {
  type        = "zip"
  source_file = "${path.module}/handlers/warehouse_worker.py"
  output_path = "${path.module}/build/warehouse_worker.zip"
}

data "archive_file" "notifications_worker" {
  type        = "zip"
  source_file = "${path.module}/handlers/notifications_worker.py"
  output_path = "${path.module}/build/notifications_worker.zip"
}

data "archive_file" "billing_worker" {
  type        = "zip"
  source_file = "${path.module}/handlers/billing_worker.py"
  output_path = "${path.module}/build/billing_worker.zip"
}

resource "aws_lambda_function" "warehouse_worker" {
  # checkov:skip=CKV_AWS_50:X-Ray tracing is optional; the workbook traces flows in the lab
  # checkov:skip=CKV_AWS_117:the function calls only AWS APIs, so it runs outside a VPC
  # checkov:skip=CKV_AWS_272:code signing is for production pipelines, not a course deployment
  # checkov:skip=CKV_AWS_115:reserved concurrency needs 100 unreserved executions left in the account
  # checkov:skip=CKV_AWS_116:the lab's function has no dead-letter queue
  # handlers/warehouse_worker.py holds the handler, written from the lab
  function_name    = "${var.prefix}warehouse-worker"
  role             = aws_iam_role.warehouse_worker_role.arn
  runtime          = "python3.13"
  handler          = "warehouse_worker.warehouse"
  filename         = data.archive_file.warehouse_worker.output_path
  source_code_hash = data.archive_file.warehouse_worker.output_base64sha256
}

resource "aws_lambda_function" "notifications_worker" {
  # checkov:skip=CKV_AWS_50:X-Ray tracing is optional; the workbook traces flows in the lab
  # checkov:skip=CKV_AWS_117:the function calls only AWS APIs, so it runs outside a VPC
  # checkov:skip=CKV_AWS_272:code signing is for production pipelines, not a course deployment
  # checkov:skip=CKV_AWS_115:reserved concurrency needs 100 unreserved executions left in the account
  # checkov:skip=CKV_AWS_116:the lab's function has no dead-letter queue
  # handlers/notifications_worker.py holds the handler, written from the lab
  function_name    = "${var.prefix}notifications-worker"
  role             = aws_iam_role.notifications_worker_role.arn
  runtime          = "python3.13"
  handler          = "notifications_worker.notifications"
  filename         = data.archive_file.notifications_worker.output_path
  source_code_hash = data.archive_file.notifications_worker.output_base64sha256
}

resource "aws_lambda_function" "billing_worker" {
  # checkov:skip=CKV_AWS_50:X-Ray tracing is optional; the workbook traces flows in the lab
  # checkov:skip=CKV_AWS_117:the function calls only AWS APIs, so it runs outside a VPC
  # checkov:skip=CKV_AWS_272:code signing is for production pipelines, not a course deployment
  # checkov:skip=CKV_AWS_115:reserved concurrency needs 100 unreserved executions left in the account
  # checkov:skip=CKV_AWS_116:the lab's function has no dead-letter queue
  # handlers/billing_worker.py holds the handler, written from the lab
  function_name    = "${var.prefix}billing-worker"
  role             = aws_iam_role.billing_worker_role.arn
  runtime          = "python3.13"
  handler          = "billing_worker.billing"
  filename         = data.archive_file.billing_worker.output_path
  source_code_hash = data.archive_file.billing_worker.output_base64sha256
}

resource "aws_lambda_event_source_mapping" "warehouse_to_warehouse_worker" {
  event_source_arn = aws_sqs_queue.warehouse.arn
  function_name    = aws_lambda_function.warehouse_worker.arn
  batch_size       = 10
  depends_on       = [aws_iam_role_policy_attachment.warehouse_worker_role_awslambdasqsqueueexecutionrole]
}

resource "aws_lambda_event_source_mapping" "notifications_to_notifications_worker" {
  event_source_arn = aws_sqs_queue.notifications.arn
  function_name    = aws_lambda_function.notifications_worker.arn
  batch_size       = 10
  depends_on       = [aws_iam_role_policy_attachment.notifications_worker_role_awslambdasqsqueueexecutionrole]
}

resource "aws_lambda_event_source_mapping" "billing_to_billing_worker" {
  event_source_arn        = aws_sqs_queue.billing.arn
  function_name           = aws_lambda_function.billing_worker.arn
  batch_size              = 10
  function_response_types = ["ReportBatchItemFailures"]
  depends_on              = [aws_iam_role_policy_attachment.billing_worker_role_awslambdasqsqueueexecutionrole]
}

resource "aws_cloudwatch_event_bus" "shop" {
  name = "${var.prefix}shop"
}

resource "aws_cloudwatch_event_rule" "account_orders" {
  name           = "${var.prefix}account-orders"
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  event_pattern = jsonencode({
    source        = ["shop.web"]
    "detail-type" = ["OrderPlaced"]
    detail = {
      payment = ["invoice"]
    }
  })
}

resource "aws_cloudwatch_event_rule" "card_orders" {
  name           = "${var.prefix}card-orders"
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  event_pattern = jsonencode({
    source        = ["shop.web"]
    "detail-type" = ["OrderPlaced"]
    detail = {
      payment = ["card"]
    }
  })
}

resource "aws_cloudwatch_event_target" "account_orders_orders_topic" {
  rule           = aws_cloudwatch_event_rule.account_orders.name
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  target_id      = "orders-topic"
  arn            = aws_sns_topic.orders.arn
}

resource "aws_cloudwatch_event_target" "card_orders_purchase_saga" {
  rule           = aws_cloudwatch_event_rule.card_orders.name
  event_bus_name = aws_cloudwatch_event_bus.shop.name
  target_id      = "purchase-saga"
  arn            = aws_sfn_state_machine.purchase.arn
  role_arn       = aws_iam_role.start_purchase.arn
}

resource "aws_sfn_state_machine" "purchase" {
  # checkov:skip=CKV_AWS_284:X-Ray tracing is optional; the workbook traces flows in the lab
  # checkov:skip=CKV_AWS_285:execution history is in the Step Functions console; no log group
  name     = "${var.prefix}purchase"
  role_arn = aws_iam_role.purchase_saga.arn
  definition = jsonencode({
    Comment = "Purchase saga for card orders: charge, reserve, book a courier; undo in reverse"
    StartAt = "LockOrder"
    States = {
      LockOrder = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:putItem"
        ResultPath = null
        Parameters = {
          TableName           = aws_dynamodb_table.orders.name
          ConditionExpression = "attribute_not_exists(order_id)"
          Item = {
            order_id = {
              "S.$" = "$.detail.order_id"
            }
            status = {
              S = "PENDING"
            }
          }
        }
        Next = "Charge"
      }
      Charge = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:updateItem"
        ResultPath = null
        Parameters = {
          TableName = aws_dynamodb_table.accounts.name
          Key = {
            customer = {
              "S.$" = "$.detail.customer"
            }
          }
          UpdateExpression    = "SET balance = balance - :amount, charges.#order = :amount"
          ConditionExpression = "balance >= :amount AND attribute_not_exists(charges.#order)"
          ExpressionAttributeNames = {
            "#order.$" = "$.detail.order_id"
          }
          ExpressionAttributeValues = {
            ":amount" = {
              "N.$" = "States.Format('{}', $.detail.amount)"
            }
          }
        }
        Catch = [
          {
            ErrorEquals = ["States.ALL"]
            ResultPath  = "$.error"
            Next        = "CancelOrder"
          },
        ]
        Next = "Reserve"
      }
      Reserve = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:updateItem"
        ResultPath = null
        Parameters = {
          TableName = aws_dynamodb_table.inventory.name
          Key = {
            sku = {
              "S.$" = "$.detail.sku"
            }
          }
          UpdateExpression    = "SET stock = stock - :qty, holds.#order = :qty"
          ConditionExpression = "stock >= :qty AND attribute_not_exists(holds.#order)"
          ExpressionAttributeNames = {
            "#order.$" = "$.detail.order_id"
          }
          ExpressionAttributeValues = {
            ":qty" = {
              "N.$" = "States.Format('{}', $.detail.qty)"
            }
          }
        }
        Catch = [
          {
            ErrorEquals = ["States.ALL"]
            ResultPath  = "$.error"
            Next        = "Refund"
          },
        ]
        Next = "BookCourier"
      }
      BookCourier = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:updateItem"
        ResultPath = null
        Parameters = {
          TableName = aws_dynamodb_table.couriers.name
          Key = {
            country = {
              "S.$" = "$.detail.country"
            }
          }
          UpdateExpression    = "SET bookings = bookings + :one"
          ConditionExpression = "attribute_exists(country)"
          ExpressionAttributeValues = {
            ":one" = {
              N = "1"
            }
          }
        }
        Catch = [
          {
            ErrorEquals = ["States.ALL"]
            ResultPath  = "$.error"
            Next        = "Release"
          },
        ]
        Next = "RecordShipment"
      }
      RecordShipment = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:putItem"
        ResultPath = null
        Parameters = {
          TableName = aws_dynamodb_table.shipments.name
          Item = {
            order_id = {
              "S.$" = "$.detail.order_id"
            }
            country = {
              "S.$" = "$.detail.country"
            }
          }
        }
        Next = "ConfirmOrder"
      }
      ConfirmOrder = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:updateItem"
        ResultPath = null
        Parameters = {
          TableName = aws_dynamodb_table.orders.name
          Key = {
            order_id = {
              "S.$" = "$.detail.order_id"
            }
          }
          UpdateExpression = "SET #s = :s"
          ExpressionAttributeNames = {
            "#s" = "status"
          }
          ExpressionAttributeValues = {
            ":s" = {
              S = "COMPLETED"
            }
          }
        }
        End = true
      }
      Release = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:updateItem"
        ResultPath = null
        Parameters = {
          TableName = aws_dynamodb_table.inventory.name
          Key = {
            sku = {
              "S.$" = "$.detail.sku"
            }
          }
          UpdateExpression    = "SET stock = stock + :qty REMOVE holds.#order"
          ConditionExpression = "holds.#order = :qty"
          ExpressionAttributeNames = {
            "#order.$" = "$.detail.order_id"
          }
          ExpressionAttributeValues = {
            ":qty" = {
              "N.$" = "States.Format('{}', $.detail.qty)"
            }
          }
        }
        Next = "Refund"
      }
      Refund = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:updateItem"
        ResultPath = null
        Parameters = {
          TableName = aws_dynamodb_table.accounts.name
          Key = {
            customer = {
              "S.$" = "$.detail.customer"
            }
          }
          UpdateExpression    = "SET balance = balance + :amount REMOVE charges.#order"
          ConditionExpression = "charges.#order = :amount"
          ExpressionAttributeNames = {
            "#order.$" = "$.detail.order_id"
          }
          ExpressionAttributeValues = {
            ":amount" = {
              "N.$" = "States.Format('{}', $.detail.amount)"
            }
          }
        }
        Next = "CancelOrder"
      }
      CancelOrder = {
        Type       = "Task"
        Resource   = "arn:aws:states:::dynamodb:updateItem"
        ResultPath = null
        Parameters = {
          TableName = aws_dynamodb_table.orders.name
          Key = {
            order_id = {
              "S.$" = "$.detail.order_id"
            }
          }
          UpdateExpression = "SET #s = :s"
          ExpressionAttributeNames = {
            "#s" = "status"
          }
          ExpressionAttributeValues = {
            ":s" = {
              S = "CANCELLED"
            }
          }
        }
        Next = "PurchaseFailed"
      }
      PurchaseFailed = {
        Type  = "Fail"
        Error = "PurchaseFailed"
        Cause = "a step failed and the steps before it were undone"
      }
    }
  })
}
