"""Claims (清算申请), the funds' decisions (审核), disbursements (拨付), prepayments (预付金): issue 14, 4-6."""
