"""Copy the desk's browser libraries from the npm registry into desk/static/vendor/.

Each package is fetched at its pinned version with `npm pack` (the registry's own client),
checked against the registry's integrity hash, and the files the desk serves are copied out;
desk/static/vendor/vendor.lock.json records each package's version, licence, tarball integrity
and every copied file's sha256. Run `make vendor` after changing PACKAGES; commit the result.
`--check` verifies the committed files against the lock without the network.
"""

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "desk" / "static" / "vendor"
LOCK = VENDOR / "vendor.lock.json"
# package, version, {file in the package: name served}, rewrites of the served text
PACKAGES = [
    ("htmx.org", "2.0.11", {"package/dist/htmx.min.js": "htmx.min.js", "package/LICENSE": "htmx.LICENSE"}, {}),
    ("libsodium", "0.8.4", {"package/dist/modules-esm/libsodium.mjs": "libsodium.mjs",
                            "package/LICENSE": "libsodium.LICENSE"}, {}),
    # The wrapper imports "libsodium" by its bare name; a browser without an import map
    # (which the CSP would have to allow inline) needs the file's relative path.
    ("libsodium-wrappers", "0.8.4", {"package/dist/modules-esm/libsodium-wrappers.mjs": "libsodium-wrappers.mjs",
                                     "package/LICENSE": "libsodium-wrappers.LICENSE"},
     {"libsodium-wrappers.mjs": [('from"libsodium"', 'from"./libsodium.mjs"')]}),
]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack(name: str, version: str, folder: Path) -> tuple[Path, dict]:
    """`npm pack NAME@VERSION` into `folder`: the tarball and npm's report of it."""
    out = subprocess.run(["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(folder)],
                         check=True, capture_output=True, text=True, cwd=folder)
    report = json.loads(out.stdout)[0]
    tarball = folder / report["filename"]
    algorithm, _, expected = report["integrity"].partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball.read_bytes()).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{name}@{version}: the tarball does not match the registry's integrity")
    return tarball, report


def licence(name: str, version: str) -> str:
    out = subprocess.run(["npm", "view", f"{name}@{version}", "license"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def fetch() -> None:
    """Fetch every package and write the files and the lock."""
    VENDOR.mkdir(parents=True, exist_ok=True)
    lock = {"packages": []}
    with tempfile.TemporaryDirectory() as temporary:
        for name, version, files, rewrites in PACKAGES:
            tarball, report = pack(name, version, Path(temporary))
            entry = {"name": name, "version": version, "license": licence(name, version),
                     "integrity": report["integrity"], "files": {}}
            with tarfile.open(tarball) as archive:
                for inner, served in files.items():
                    data = archive.extractfile(inner).read()
                    upstream = sha256(data)
                    for old, new in rewrites.get(served, []):
                        if old not in data.decode("utf-8"):
                            raise SystemExit(f"{name}: {served} no longer contains {old!r}")
                        data = data.decode("utf-8").replace(old, new).encode("utf-8")
                    (VENDOR / served).write_bytes(data)
                    entry["files"][served] = {"from": inner, "sha256": sha256(data), "upstream_sha256": upstream}
            lock["packages"].append(entry)
    LOCK.write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {LOCK.relative_to(ROOT)}")


def check() -> int:
    """Compare the served files with the lock; 1 when one differs or is missing."""
    lock = json.loads(LOCK.read_text(encoding="utf-8"))
    wrong = [served for package in lock["packages"] for served, facts in package["files"].items()
             if not (VENDOR / served).is_file() or sha256((VENDOR / served).read_bytes()) != facts["sha256"]]
    for served in wrong:
        print(f"{served} differs from {LOCK.name}", file=sys.stderr)
    return 1 if wrong else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the vendored files against the lock")
    args = parser.parse_args()
    if args.check:
        return check()
    fetch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
