/*
 * Courtyard ballot sealing in the browser — WebCrypto only, no library.
 *
 * Produces exactly the bytes of elections/sealing.py (format version 1):
 *
 *   "CYSB" | 0x01 | ephemeral X25519 public key (32) | nonce (12) | AES-256-GCM ciphertext + tag
 *
 *   shared = X25519(ephemeral private, box public)            (all-zero result refused)
 *   key    = HKDF-SHA256(ikm = shared, salt = ephemeral public | box public,
 *                        info = "courtyard/seal/v1", 32 bytes)
 *   aad    = the 49 header bytes | u16be(len box id) | box id | u16be(len kind) | kind  (UTF-8)
 *
 * Ballots are signed with the voter's Ed25519 credential over
 *   "CYBS" | 0x01 | u16be(len box id) | box id | sealed ballot.
 *
 * Everything is exposed as window.CourtyardSeal; every function returns a Promise where
 * WebCrypto does. Byte arguments are Uint8Array; keys may also be given as base64 text.
 */
(function (global) {
  "use strict";

  const subtle = global.crypto.subtle;
  const encoder = new TextEncoder();
  const MAGIC = Uint8Array.of(0x43, 0x59, 0x53, 0x42);
  const VERSION = 1;
  const HEADER_SIZE = 49;
  const HKDF_INFO = encoder.encode("courtyard/seal/v1");
  const SIGNATURE_TAG = Uint8Array.of(0x43, 0x59, 0x42, 0x53, 0x01);
  // PKCS#8 wrappers of a raw 32-byte private key (RFC 8410).
  const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");
  const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");
  const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  function fromHex(hex) {
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return out;
  }

  function concat(...parts) {
    const size = parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  function b64encode(bytes) {
    let text = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }

  function b64decode(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function bytesOf(value) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (typeof value === "string") return b64decode(value);
    throw new TypeError("expected bytes or base64 text");
  }

  function u16(n) {
    if (n > 0xffff) throw new RangeError("field too long");
    return Uint8Array.of(n >> 8, n & 0xff);
  }

  function lengthPrefixed(text) {
    const bytes = encoder.encode(text);
    return concat(u16(bytes.length), bytes);
  }

  function associatedData(header, boxId, kind) {
    return concat(header, lengthPrefixed(boxId), lengthPrefixed(kind));
  }

  function base64url(text) {
    return b64decode(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
  }

  async function importX25519Private(raw) {
    const key = await subtle.importKey(
      "pkcs8", concat(X25519_PKCS8, raw), { name: "X25519" }, true, ["deriveBits"]
    );
    const jwk = await subtle.exportKey("jwk", key);
    return { privateKey: key, publicKey: base64url(jwk.x) };
  }

  async function sharedSecret(privateKey, publicRaw) {
    const peer = await subtle.importKey("raw", publicRaw, { name: "X25519" }, false, []);
    const bits = new Uint8Array(
      await subtle.deriveBits({ name: "X25519", public: peer }, privateKey, 256)
    );
    if (bits.every((b) => b === 0)) throw new Error("degenerate key exchange");
    return bits;
  }

  async function aesKey(shared, ephemeralPublic, boxPublic) {
    const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
    return subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: concat(ephemeralPublic, boxPublic), info: HKDF_INFO },
      ikm,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"]
    );
  }

  /**
   * Seal plaintext bytes to a ballot box. options.ephemeralPrivateKey and options.nonce exist
   * for published test vectors only; real ballots leave them out.
   */
  async function seal(boxPublicKey, boxId, kind, plaintext, options) {
    const opts = options || {};
    const boxPublic = bytesOf(boxPublicKey);
    if (boxPublic.length !== 32) throw new RangeError("a ballot-box public key is 32 bytes");
    let ephemeral;
    if (opts.ephemeralPrivateKey) {
      ephemeral = await importX25519Private(bytesOf(opts.ephemeralPrivateKey));
    } else {
      const pair = await subtle.generateKey({ name: "X25519" }, true, ["deriveBits"]);
      ephemeral = {
        privateKey: pair.privateKey,
        publicKey: new Uint8Array(await subtle.exportKey("raw", pair.publicKey)),
      };
    }
    const nonce = opts.nonce ? bytesOf(opts.nonce) : global.crypto.getRandomValues(new Uint8Array(12));
    if (nonce.length !== 12) throw new RangeError("the nonce is 12 bytes");
    const shared = await sharedSecret(ephemeral.privateKey, boxPublic);
    const key = await aesKey(shared, ephemeral.publicKey, boxPublic);
    const header = concat(MAGIC, Uint8Array.of(VERSION), ephemeral.publicKey, nonce);
    const body = await subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: associatedData(header, boxId, kind), tagLength: 128 },
      key,
      bytesOf(plaintext)
    );
    return concat(header, new Uint8Array(body));
  }

  /** Open a sealed ballot with the box's raw private key (after the opening, for audits). */
  async function open(boxPrivateKey, boxId, kind, sealedBallot) {
    const sealed = bytesOf(sealedBallot);
    if (sealed.length < HEADER_SIZE + 16 || !MAGIC.every((b, i) => sealed[i] === b)) {
      throw new Error("not a sealed ballot");
    }
    if (sealed[4] !== VERSION) throw new Error("unknown sealed-ballot version " + sealed[4]);
    const box = await importX25519Private(bytesOf(boxPrivateKey));
    const ephemeralPublic = sealed.subarray(5, 37);
    const nonce = sealed.subarray(37, HEADER_SIZE);
    const shared = await sharedSecret(box.privateKey, ephemeralPublic);
    const key = await aesKey(shared, ephemeralPublic, box.publicKey);
    const plain = await subtle.decrypt(
      {
        name: "AES-GCM",
        iv: nonce,
        additionalData: associatedData(sealed.subarray(0, HEADER_SIZE), boxId, kind),
        tagLength: 128,
      },
      key,
      sealed.subarray(HEADER_SIZE)
    );
    return new Uint8Array(plain);
  }

  function ballotSignatureMessage(boxId, sealed) {
    return concat(SIGNATURE_TAG, lengthPrefixed(boxId), bytesOf(sealed));
  }

  /** Ed25519 signature of arbitrary bytes with a raw 32-byte private key (seed). */
  async function sign(privateKey, message) {
    const key = await subtle.importKey(
      "pkcs8", concat(ED25519_PKCS8, bytesOf(privateKey)), { name: "Ed25519" }, false, ["sign"]
    );
    return new Uint8Array(await subtle.sign({ name: "Ed25519" }, key, bytesOf(message)));
  }

  /** True when signature is a valid Ed25519 signature of message by the raw public key. */
  async function verify(publicKey, message, signature) {
    const key = await subtle.importKey("raw", bytesOf(publicKey), { name: "Ed25519" }, false, ["verify"]);
    return subtle.verify({ name: "Ed25519" }, key, bytesOf(signature), bytesOf(message));
  }

  function signBallot(credential, boxId, sealed) {
    const seed = typeof credential === "string" && credential.startsWith("CYC1")
      ? parseCredentialText(credential)
      : bytesOf(credential);
    return sign(seed, ballotSignatureMessage(boxId, sealed));
  }

  function verifyBallot(credentialPublic, boxId, sealed, signature) {
    return verify(credentialPublic, ballotSignatureMessage(boxId, sealed), signature);
  }

  /** Public key (raw 32 bytes) of a raw Ed25519 private key. */
  async function publicKeyOf(privateKey) {
    const key = await subtle.importKey(
      "pkcs8", concat(ED25519_PKCS8, bytesOf(privateKey)), { name: "Ed25519" }, true, ["sign"]
    );
    return base64url((await subtle.exportKey("jwk", key)).x);
  }

  /** Site-issued mode: a fresh credential made in this browser ({privateKey, publicKey}). */
  async function generateCredential() {
    const pair = await subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
    const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", pair.privateKey));
    return {
      privateKey: pkcs8.slice(pkcs8.length - 32),
      publicKey: new Uint8Array(await subtle.exportKey("raw", pair.publicKey)),
    };
  }

  function base32decode(text) {
    const out = [];
    let bits = 0;
    let value = 0;
    for (const ch of text) {
      const index = BASE32.indexOf(ch);
      if (index < 0) throw new Error("credential text is mistyped");
      value = (value << 5) | index;
      bits += 5;
      if (bits >= 8) {
        out.push((value >>> (bits - 8)) & 0xff);
        bits -= 8;
      }
    }
    return Uint8Array.from(out);
  }

  /** A printed credential ("CYC1-ABCD-…", spaces, dashes and case forgiven) to its 32 bytes. */
  function parseCredentialText(text) {
    const cleaned = text.toUpperCase().replace(/[^A-Z0-9]/g, "");
    if (!cleaned.startsWith("CYC1")) throw new Error("a credential starts with CYC1");
    const key = base32decode(cleaned.slice(4));
    if (key.length !== 32) throw new Error("credential text is mistyped");
    return key;
  }

  /** The receipt's tracking code: 50 bits of SHA-256(sealed ballot), "ABCDE-FGHIJ". */
  async function trackingCode(sealed) {
    const digest = new Uint8Array(await subtle.digest("SHA-256", bytesOf(sealed)));
    let bits = "";
    for (const byte of digest.subarray(0, 7)) bits += byte.toString(2).padStart(8, "0");
    let code = "";
    for (let i = 0; i < 50; i += 5) code += BASE32[parseInt(bits.substr(i, 5), 2)];
    return code.slice(0, 5) + "-" + code.slice(5);
  }

  /** Canonical JSON (sorted keys, compact), as elections/canonical.py writes it. */
  function canonicalJson(value) {
    if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort()
        .map((k) => JSON.stringify(k) + ":" + canonicalJson(value[k])).join(",") + "}";
    }
    if (typeof value === "number" && !Number.isInteger(value)) {
      throw new TypeError("no fractional numbers in canonical JSON");
    }
    return JSON.stringify(value);
  }

  /** Plaintext of a motion ballot: {motionId: "agree"|"disagree"|"abstain"}. */
  function encodeMotionBallot(choices, followMajority) {
    return encoder.encode(canonicalJson({
      v: 1, kind: "motion", choices: choices, follow_majority: Boolean(followMajority),
    }));
  }

  /** Plaintext of a candidate ballot: the ids selected (at most as many as seats). */
  function encodeCandidateBallot(selected) {
    return encoder.encode(canonicalJson({ v: 1, kind: "candidate", selected: [...selected].sort() }));
  }

  /** Which algorithms this browser's WebCrypto has ({x25519, ed25519}). */
  async function supported() {
    async function has(algorithm, usages) {
      try {
        await subtle.generateKey({ name: algorithm }, false, usages);
        return true;
      } catch (e) {
        return false;
      }
    }
    return { x25519: await has("X25519", ["deriveBits"]), ed25519: await has("Ed25519", ["sign"]) };
  }

  global.CourtyardSeal = Object.freeze({
    FORMAT_VERSION: VERSION,
    seal,
    open,
    sign,
    verify,
    signBallot,
    verifyBallot,
    ballotSignatureMessage,
    publicKeyOf,
    generateCredential,
    parseCredentialText,
    trackingCode,
    canonicalJson,
    encodeMotionBallot,
    encodeCandidateBallot,
    supported,
    b64encode,
    b64decode,
  });
})(typeof window !== "undefined" ? window : globalThis);
