"""Domain errors of the vote integrity engine.

Every error the package raises is an :class:`ElectionError`, so the web layer can map the whole
family to one HTTP status while tests and callers catch the precise kind.
"""

from __future__ import annotations


class ElectionError(Exception):
    """Base of every domain error raised by :mod:`elections`."""


# -- electorate and vote definitions -------------------------------------------------------------


class ElectorateError(ElectionError):
    """The register given as electorate is inconsistent (duplicate unit, bad area, no owner)."""


class UnknownVoterError(ElectionError):
    """A ballot names a voter that is not in the electorate."""


class DefinitionError(ElectionError):
    """A vote or election is defined against the rules (too few candidates, even seats, …)."""


class DuplicateBallotError(ElectionError):
    """Two ballots for one voter reached a count of motions."""


# -- sealing and keys ----------------------------------------------------------------------------


class SealError(ElectionError):
    """A sealed ballot cannot be opened: wrong format, wrong box, wrong kind, or altered."""


class KeyShareError(ElectionError):
    """Key shares cannot be combined or do not rebuild the ballot box's key."""


class WrongPassphraseError(KeyShareError):
    """A protected key share was opened with the wrong passphrase, or it was altered."""


class WeakPassphraseError(KeyShareError):
    """A scrutineer chose a passphrase too short to protect a key share."""


class SignatureError(ElectionError):
    """A signature does not verify."""


# -- credentials and bulletin board --------------------------------------------------------------


class CredentialError(ElectionError):
    """A credential is unknown, malformed, or the credential list is not frozen as published."""


class BoardError(ElectionError):
    """The bulletin board refuses a ballot or its chain does not hold."""


class DuplicateCredentialError(BoardError):
    """A credential already has a ballot on the board (one ballot per owner)."""


class BoardClosedError(BoardError):
    """The ballot box is closed; no ballot is accepted any more."""


# -- bundles -------------------------------------------------------------------------------------


class BundleFormatError(ElectionError):
    """An audit bundle is not readable as the documented format."""
