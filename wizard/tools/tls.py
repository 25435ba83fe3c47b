"""PEM certificates and keys: parsed, compared and matched against host names, never shown.

The pure TLS facts the checks report and the Helm engine relies on. Key material is read
to compare and classify only; nothing here returns or formats it.
"""

from __future__ import annotations

import ipaddress
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.x509 import Certificate


def parse_certificates(data: bytes) -> list[Certificate]:
    """Every PEM certificate in `data`, in file order (ValueError when there is none)."""
    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning

    # System bundles hold old roots with quirks (negative serials) nobody can act on.
    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"wizard\.")
    return x509.load_pem_x509_certificates(data)


def load_key(data: bytes) -> Any:
    """The private key; TypeError when it is encrypted, ValueError when it is not a PEM key."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        return load_pem_private_key(data, password=None)
    except UnsupportedAlgorithm as error:
        raise ValueError("unsupported key type") from error


def public_der(key: Any) -> bytes:
    """A public key as DER SubjectPublicKeyInfo, to compare a key with a certificate."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def names_of(certificate: Certificate) -> list[str]:
    """The DNS names and IP addresses in the subjectAltName, as written."""
    from cryptography import x509

    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]


def issuer_of(certificate: Certificate) -> str:
    return certificate.issuer.rfc4514_string() or "(empty issuer)"


def name_matches(pattern: str, host: str) -> bool:
    """RFC 6125 §6.4: exact, or `*` as the whole left-most label standing for exactly one label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    wild, _, suffix = pattern.partition(".")
    first, _, host_suffix = host.partition(".")
    # Never `*.com`-style (two labels at least after the wildcard), never a wildcard further in.
    return wild == "*" and "*" not in suffix and suffix.count(".") >= 1 and bool(first) and suffix == host_suffix


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def covers(certificate: Certificate, hostname: str) -> bool:
    """Whether the certificate's subjectAltName covers `hostname` (a name or an IP address)."""
    address = _address(hostname)
    names = names_of(certificate)
    if address is None:
        return any(name_matches(name, hostname) for name in names if _address(name) is None)
    return any(_address(name) == address for name in names)


def is_ca(certificate: Certificate) -> bool:
    from cryptography import x509

    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:  # an old v1 root: self-issued is as good as it gets
        return certificate.issuer == certificate.subject
