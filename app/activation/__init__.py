"""Onboarding (开通账户): activation letters the committee prints, and the page owners use them on.

The committee issues letters (one page per unit, a one-time code per owner); an owner types the
code, proves who they are with the ID number (else the phone number) of the register, and
chooses a login. Codes are kept only as SHA-256 hashes, expire, are revoked by a reissue, and
every issuance and every use is in the audit log.
"""
