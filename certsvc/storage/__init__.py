"""The database: engines and migrations, the ORM models, and typed queries over them."""
