"""What a native module is built for, read from its ELF / Mach-O / PE header.

A .vsix is checked by what its binaries are, not by what they are called: a file named
``native.cp312-win_arm64.pyd`` that is really an x86-64 DLL would load on no ARM64
Windows. Only the few header fields that say format and machine are read.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass


class Format(enum.Enum):
    ELF = "ELF"
    MACHO = "Mach-O"
    PE = "PE"


class Machine(enum.Enum):
    X86_64 = "x86_64"
    ARM64 = "arm64"
    OTHER = "other"


@dataclass(frozen=True)
class Binary:
    format: Format
    machines: tuple[Machine, ...]  # more than one for a Mach-O universal ("fat") file
    libc: str | None = None  # ELF only: "glibc" if it needs versioned glibc symbols, else "musl"


_ELF_MACHINES = {0x3E: Machine.X86_64, 0xB7: Machine.ARM64}
_MACHO_CPUS = {0x01000007: Machine.X86_64, 0x0100000C: Machine.ARM64}
_PE_MACHINES = {0x8664: Machine.X86_64, 0xAA64: Machine.ARM64}


def _elf(data: bytes) -> Binary:
    endian = "<" if data[5] == 1 else ">"
    (machine,) = struct.unpack_from(endian + "H", data, 18)
    # manylinux modules link glibc's versioned symbols (GLIBC_2.x); musllinux ones cannot
    libc = "glibc" if b"GLIBC_2." in data else "musl"
    return Binary(Format.ELF, (_ELF_MACHINES.get(machine, Machine.OTHER),), libc)


def _macho_thin(data: bytes, offset: int = 0) -> Machine:
    magic = data[offset : offset + 4]
    endian = "<" if magic in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe") else ">"
    (cpu,) = struct.unpack_from(endian + "I", data, offset + 4)
    return _MACHO_CPUS.get(cpu, Machine.OTHER)


def _macho(data: bytes) -> Binary:
    if (
        data[:4] == b"\xca\xfe\xba\xbe"
    ):  # fat header, big-endian: count, then (cpu, sub, offset, size, align)
        (count,) = struct.unpack_from(">I", data, 4)
        cpus = [struct.unpack_from(">I", data, 8 + 20 * i)[0] for i in range(count)]
        return Binary(Format.MACHO, tuple(_MACHO_CPUS.get(c, Machine.OTHER) for c in cpus))
    return Binary(Format.MACHO, (_macho_thin(data),))


def _pe(data: bytes) -> Binary:
    (pe_offset,) = struct.unpack_from("<I", data, 0x3C)
    if data[pe_offset : pe_offset + 4] != b"PE\0\0":
        raise ValueError("MZ file without a PE header")
    (machine,) = struct.unpack_from("<H", data, pe_offset + 4)
    return Binary(Format.PE, (_PE_MACHINES.get(machine, Machine.OTHER),))


_MACHO_MAGICS = (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce")


def identify(data: bytes) -> Binary | None:
    """The format and machine of a binary, or ``None`` for any other file."""
    if data[:4] == b"\x7fELF":
        return _elf(data)
    if data[:4] in _MACHO_MAGICS or data[:4] == b"\xca\xfe\xba\xbe" and data[4:6] == b"\0\0":
        return _macho(data)  # (Java class files share CAFEBABE; their next bytes are not 0)
    if data[:2] == b"MZ":
        return _pe(data)
    return None
