"""Put this checkout's source roots on the venv's path (one .pth), so every package imports from here."""
from __future__ import annotations

import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROOTS = [
    "libs",
    "services/ownership",
    "services/pricing",
    "services/exemption",
    "services/finance",
    "services/evaluation",
    "gateway",
]

if __name__ == "__main__":
    target = Path(sysconfig.get_path("purelib")) / "kezhuan-src.pth"
    target.write_text("".join(f"{ROOT / root}\n" for root in ROOTS), encoding="utf-8")
    print(f"wrote {target}")
