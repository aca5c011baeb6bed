"""The movement's yearly cycle in chat: agencies, enterprises and schools, self-management
models, and recognition "An toàn về an ninh, trật tự"."""
