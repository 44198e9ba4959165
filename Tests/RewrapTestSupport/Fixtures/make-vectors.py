#!/usr/bin/env python3
"""Known-answer vectors for the rewrap engine, computed with pyca/cryptography: an
implementation independent of the OpenSSL calls under test. Run once; the outputs are
committed (keys/*.pem, vectors.json). Deterministic except for the key generation and the
RSA-OAEP seeds, which is why the results are stored rather than recomputed in CI."""
import base64, hashlib, hmac, json, os
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "keys"), exist_ok=True)
SALT = hashlib.sha256(b"TDF").digest()
CURVES = {"ec:secp256r1": ec.SECP256R1(), "ec:secp384r1": ec.SECP384R1(), "ec:secp521r1": ec.SECP521R1()}

def write_key(name, key, pkcs1=False):
    fmt = serialization.PrivateFormat.TraditionalOpenSSL if pkcs1 else serialization.PrivateFormat.PKCS8
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    open(os.path.join(here, "keys", name + "-private.pem"), "wb").write(pem)
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    open(os.path.join(here, "keys", name + "-public.pem"), "wb").write(pub)
    return pub.decode()

def spki_pem(pub):
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

def ec_wrap_key(priv, peer_pub):
    z = priv.exchange(ec.ECDH(), peer_pub)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=None).derive(z)

def binding(dek, policy_b64):
    mac = hmac.new(dek, policy_b64.encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(mac.encode()).decode()

oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
policy_json = ('{"uuid":"6b2c4f5e-9c7a-4d3b-8e1f-2a3b4c5d6e7f","body":{"dataAttributes":null,"dissem":null}}')
policy_b64 = base64.b64encode(policy_json.encode()).decode()
vectors = {"policy": policy_b64, "salt": SALT.hex(), "rsa": [], "ec": [], "session": []}

for bits in (2048, 3072, 4096):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    write_key(f"kas-rsa{bits}", key)
    dek = bytes((i * 7 + bits) % 256 for i in range(32))
    ct = key.public_key().encrypt(dek, oaep)
    vectors["rsa"].append({"alg": f"rsa:{bits}", "key": f"kas-rsa{bits}", "dek": dek.hex(),
                           "wrappedKey": base64.b64encode(ct).decode(), "binding": binding(dek, policy_b64)})
    if bits == 2048:
        write_key("kas-rsa2048-pkcs1", key, pkcs1=True)

for index, (alg, curve) in enumerate(CURVES.items()):
    name = "kas-" + alg.split(":")[1]
    kas = ec.generate_private_key(curve)
    write_key(name, kas)
    eph = ec.generate_private_key(curve)
    write_key(name + "-ephemeral", eph)
    dek = bytes((i * 13 + index) % 256 for i in range(32))
    nonce = bytes(range(100 + index, 112 + index))
    wk = ec_wrap_key(eph, kas.public_key())
    sealed = nonce + AESGCM(wk).encrypt(nonce, dek, None)
    vectors["ec"].append({"alg": alg, "key": name, "ephemeralKey": name + "-ephemeral", "dek": dek.hex(),
                          "nonce": nonce.hex(), "ephemeralPublicKey": spki_pem(eph.public_key()),
                          "wrapKey": wk.hex(), "wrappedKey": base64.b64encode(sealed).decode(),
                          "binding": binding(dek, policy_b64)})

# EC session rewrap (spec §4.2): the KAS's per-request session key, the client's key.
for index, (alg, curve) in enumerate(CURVES.items()):
    suffix = alg.split(":")[1]
    client = ec.generate_private_key(curve)
    write_key("client-" + suffix, client)
    session = ec.generate_private_key(curve)
    write_key("session-" + suffix, session)
    dek = bytes((255 - i * 3 - index) % 256 for i in range(32))
    nonce = bytes(range(200 + index, 212 + index))
    wk = ec_wrap_key(session, client.public_key())
    assert wk == ec_wrap_key(client, session.public_key())
    sealed = nonce + AESGCM(wk).encrypt(nonce, dek, None)
    vectors["session"].append({"alg": alg, "clientKey": "client-" + suffix, "sessionKey": "session-" + suffix,
                               "dek": dek.hex(), "nonce": nonce.hex(), "wrapKey": wk.hex(),
                               "kasWrappedKey": base64.b64encode(sealed).decode()})

client_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
write_key("client-rsa2048", client_rsa)
json.dump(vectors, open(os.path.join(here, "vectors.json"), "w"), indent=1)
print("wrote", os.path.join(here, "vectors.json"))
