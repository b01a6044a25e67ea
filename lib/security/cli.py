"""`python -m lib security keygen|encrypt|decrypt|status|audit verify|audit list`."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lib.output import emit

EXIT_AUDIT_BROKEN = 1


def register(groups: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    group = groups.add_parser("security", help="encryption keys, encrypted files and the audit log")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    keygen = commands.add_parser("keygen", parents=[common], help="create the key ring, or add a new primary key")
    keygen.set_defaults(run=_keygen)
    encrypt = commands.add_parser("encrypt", parents=[common], help="encrypt a file with the primary key")
    encrypt.add_argument("input", help="the file to encrypt")
    encrypt.add_argument("output", help="where to write the encrypted file (may be the input)")
    encrypt.set_defaults(run=_encrypt)
    decrypt = commands.add_parser("decrypt", parents=[common], help="decrypt a Pitwall-encrypted file")
    decrypt.add_argument("input", help="the encrypted file")
    decrypt.add_argument("output", help="where to write the plaintext (written only when all of it verified)")
    decrypt.set_defaults(run=_decrypt)
    status = commands.add_parser("status", parents=[common], help="the key ring: where it is, its keys and ages")
    status.set_defaults(run=_status)
    audit = commands.add_parser("audit", help="the tamper-evident audit log")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    verify = audit_commands.add_parser("verify", parents=[common], help="check the audit log's chain of MACs")
    verify.set_defaults(run=_audit_verify)
    listing = audit_commands.add_parser("list", parents=[common], help="the newest audit log entries")
    listing.add_argument("--limit", type=int, default=100, help="how many entries (default 100)")
    listing.add_argument("--action", default=None, help="only entries with this action (e.g. key-rotate)")
    listing.add_argument("--actor", default=None, help="only entries by this actor")
    listing.set_defaults(run=_audit_list)


def _keygen(args: argparse.Namespace) -> None:
    from lib.security.keyring import keygen

    emit(keygen(), args.json, _keygen_text)


def _keygen_text(result) -> str:
    if result.created:
        return (
            f"Created the key ring {result.path} with primary key {result.primary}; back it up, as data encrypted "
            "with it cannot be read without it."
        )
    return (
        f"Added primary key {result.primary}; {result.previous} stays active so existing data can still be read "
        "until it is re-encrypted."
    )


def _encrypt(args: argparse.Namespace) -> None:
    from lib.security.crypto import encrypt_file
    from lib.security.keyring import load_keyring

    ring = load_keyring()
    encrypt_file(Path(args.input), Path(args.output), ring)
    result = {"input": args.input, "output": args.output, "key_id": ring.primary}
    emit(result, args.json, lambda r: f"Encrypted {r['input']} to {r['output']} with key {r['key_id']}.")


def _decrypt(args: argparse.Namespace) -> None:
    from lib.security.crypto import decrypt_file, file_key_id
    from lib.security.keyring import load_keyring

    ring = load_keyring()
    key_id = file_key_id(Path(args.input))  # read before decrypting: the output may replace the input
    decrypt_file(Path(args.input), Path(args.output), args.input, ring)
    result = {"input": args.input, "output": args.output, "key_id": key_id}
    emit(result, args.json, lambda r: f"Decrypted {r['input']} to {r['output']} (key {r['key_id']}).")


def _status(args: argparse.Namespace) -> None:
    from lib.security.keyring import load_keyring

    ring = load_keyring()
    result = {
        "source": ring.source,
        "path": str(ring.path) if ring.path else None,
        "primary": ring.primary,
        "keys": [info.to_dict() for info in ring.infos()],
        "warnings": ring.warnings,
    }
    emit(result, args.json, _status_text)


def _status_text(status: dict[str, Any]) -> str:
    where = status["path"] if status["source"] == "file" else "the PITWALL_KEYRING environment variable"
    lines = [f"key ring   {where}", f"primary    {status['primary']}"]
    lines += [
        f"  {key['id']:<20} {key['state']:<8} created {key['created_at']} ({key['age_days']:.0f} days ago)"
        for key in status["keys"]
    ]
    lines += [f"warning: {warning}" for warning in status["warnings"]]
    return "\n".join(lines)


def _audit_verify(args: argparse.Namespace) -> int:
    from lib.security import audit
    from lib.store import open_store

    result = audit.verify(open_store())
    emit(result, args.json, _verify_text)
    return 0 if result.to_dict()["ok"] else EXIT_AUDIT_BROKEN


def _verify_text(result) -> str:
    report = result.to_dict()
    if report["ok"]:
        return f"The audit log's {report['entries']} entries are intact."
    reason = report.get("reason") or f"entry {report['first_bad']} fails the chain check."
    return f"The audit log was altered ({report['entries']} entries): {reason}"


def _audit_list(args: argparse.Namespace) -> None:
    from lib.security import audit
    from lib.store import open_store

    rows = [entry.to_dict() for entry in audit.entries(open_store(), args.limit, args.action, args.actor)]
    emit(rows, args.json, _entries_text)


def _entries_text(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "The audit log has no matching entries."
    return "\n".join(
        f"{row['seq']:>6}  {_when(row['at'])}  {row['actor']}  {row['action']}  {row.get('object') or ''}".rstrip()
        for row in rows
    )


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")
