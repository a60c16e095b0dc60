"""Database access: the embedded server, URLs for each client, migrations, SQL files."""
