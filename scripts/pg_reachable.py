"""Exit 0 when the PostgreSQL URL given as argument answers, 1 otherwise."""

import sys

import psycopg


def main(url: str) -> int:
    if not url:
        return 1
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ""))
