"""Content Credentials: keys, signing every output type, verification, tampering."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from moviola import provenance as pv
from moviola.core import InputError, ProvenanceError, init_project, open_project
from moviola.core._image_io import write_exr

PLATE = Path(__file__).parent.parent / "examples" / "palace" / "palace_plate.jpg"


def _png(w: int = 96, h: int = 64) -> bytes:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(_png())).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _mp4(path: Path) -> Path:
    from moviola.core._media import atomic_movie, encode_frame, finish_movie, open_h264

    def write(tmp: Path) -> None:
        container, stream = open_h264(tmp, 24, 64, 48)
        for i in range(6):
            encode_frame(container, stream, np.full((48, 64, 3), 20 * i, np.uint8), i)
        finish_movie(container, stream)

    return atomic_movie(path, write)


def _claim(**more: object) -> pv.Claim:
    base: dict[str, object] = {"what": "a test picture", "command": "pytest"}
    base.update(more)
    return pv.Claim(**base)  # type: ignore[arg-type]


@pytest.fixture()
def creds() -> pv.Credentials:
    return pv.credentials_for(None)


def test_first_use_makes_a_local_ca_and_signer_outside_any_project(creds: pv.Credentials) -> None:
    folder = pv.key_set_dir()
    assert folder.parent.parent == Path(os.environ["MOVIOLA_CONFIG"])
    assert (folder / "ca.pem").is_file() and (folder / "signer.pem").is_file()
    for private in ("signer.key", "ca.key"):
        assert (folder / private).stat().st_mode & 0o077 == 0
    assert creds.identity.alg == "es256"
    assert "Moviola" in creds.identity.subject


@pytest.mark.parametrize(("name", "make"), [("panel.png", "png"), ("sheet.jpg", "jpeg"), ("frame.exr", "exr")])
def test_each_picture_type_is_signed_and_verifies_trusted(tmp_path: Path, creds: pv.Credentials,
                                                          name: str, make: str) -> None:
    target = tmp_path / name
    if make == "exr":
        write_exr(target, {"R": np.zeros((8, 8), np.float32), "G": np.ones((8, 8), np.float32),
                           "B": np.zeros((8, 8), np.float32)}, half=True)  # fmt: skip
        creds.sign_existing(target, _claim())
        assert pv.sidecar_of(target).is_file()
    else:
        creds.write_bytes(target, _png() if make == "png" else _jpeg(), _claim())
    v = pv.verify(target)
    assert v.state == pv.TRUSTED and not v.tampered and not v.problems
    assert v.actions[0]["action"] == "c2pa.created"
    assert v.actions[0]["source_type"] == "algorithmicMedia"
    assert v.training and set(v.training.values()) == {"notAllowed"}
    assert v.generator.startswith("Moviola")
    # elsewhere (nobody trusts this CA) the same file is intact but its signer unknown
    assert pv.verify(target, anchors=b"").state == pv.UNTRUSTED


def test_movies_are_signed_through_the_atomic_writer(tmp_path: Path, creds: pv.Credentials) -> None:
    movie = _mp4(tmp_path / "plain.mp4")
    creds.sign_existing(movie, _claim(what="a review movie"))
    v = pv.verify(movie)
    assert v.state == pv.TRUSTED
    assert v.title == "plain.mp4"
    from moviola.core._media import probe_movie

    assert probe_movie(movie)["frames"] == 6  # still a movie every player reads


def test_an_edit_names_its_parent_the_inputs_models_and_consent(tmp_path: Path, creds: pv.Credentials) -> None:
    depth = tmp_path / "depth.exr"
    write_exr(depth, {"Z": np.zeros((8, 8), np.float32)})
    claim = _claim(source_type="compositeWithTrainedAlgorithmicMedia",
                   parent=pv.Ingredient(PLATE, "plate", "parentOf"),
                   ingredients=(pv.Ingredient(depth, "depth pass", "inputTo"),),
                   models=(pv.ModelUse("tiny", "cc-by-nc-4.0", False, "/models/tiny"),),
                   consent=pv.ConsentUse("ab" * 32, "Grace Hopper", ("7", "7A"), "de-age by 20-30 years"),
                   documents={"recipe": "cd" * 32})  # fmt: skip
    target = creds.write_bytes(tmp_path / "edit.png", _png(), claim)
    v = pv.verify(target)
    assert [a["action"] for a in v.actions] == ["c2pa.opened", "c2pa.edited"]
    assert v.actions[1]["source_type"] == "compositeWithTrainedAlgorithmicMedia"
    roles = {i["role"]: i for i in v.ingredients}
    assert roles["plate"]["relationship"] == "parentOf" and roles["plate"]["title"] == "palace_plate.jpg"
    import hashlib

    assert roles["plate"]["sha256"] == hashlib.sha256(PLATE.read_bytes()).hexdigest()
    assert roles["depth pass"]["relationship"] == "inputTo"
    assert v.models[0]["licence"] == "cc-by-nc-4.0" and v.models[0]["commercial"] is False
    assert v.consent is not None and v.consent["performer"] == "Grace Hopper"
    assert v.consent["use"] == "de-age by 20-30 years" and v.consent["scope"] == ["7", "7A"]
    assert v.render["documents"] == {"recipe": "cd" * 32}
    text = "\n".join(pv.describe(v))
    assert "NON-COMMERCIAL" in text and "Grace Hopper" in text


def test_a_signed_ingredient_carries_its_own_credentials(tmp_path: Path, creds: pv.Credentials) -> None:
    first = creds.write_bytes(tmp_path / "board.png", _png(), _claim(what="a board"))
    second = creds.write_bytes(tmp_path / "styled.png", _png(), _claim(
        what="the board, styled", source_type="trainedAlgorithmicMedia",
        parent=pv.Ingredient(first, "storyboard panel", "parentOf")))
    v = pv.verify(second)
    assert v.ingredients[0]["signed"] is True
    assert v.manifests == 2


def test_one_changed_byte_in_a_picture_is_tampering(tmp_path: Path, creds: pv.Credentials) -> None:
    target = creds.write_bytes(tmp_path / "p.png", _png(), _claim())
    data = bytearray(target.read_bytes())
    data[data.find(b"IDAT") + 20] ^= 0x01
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    v = pv.verify(bad)
    assert v.state == pv.BROKEN and v.tampered
    assert any("dataHash.mismatch" in p for p in v.problems)


@pytest.mark.parametrize("where", ["exr", "sidecar-start", "sidecar-middle", "sidecar-end"])
def test_one_changed_byte_in_an_exr_or_its_sidecar_is_tampering(tmp_path: Path, creds: pv.Credentials,
                                                                where: str) -> None:
    target = tmp_path / "f.exr"
    write_exr(target, {"R": np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16)})
    creds.sign_existing(target, _claim())
    victim = target if where == "exr" else pv.sidecar_of(target)
    data = bytearray(victim.read_bytes())
    pos = {"exr": len(data) // 2, "sidecar-start": 100, "sidecar-middle": len(data) // 2,
           "sidecar-end": len(data) - 10}[where]  # fmt: skip
    data[pos] ^= 0x01
    victim.write_bytes(bytes(data))
    v = pv.verify(target)
    assert v.state == pv.BROKEN and v.tampered


def test_a_file_without_credentials_is_named_as_such(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    plain.write_bytes(_png())
    with pytest.raises(ProvenanceError, match="no Content Credentials"):
        pv.verify(plain)
    exr = tmp_path / "plain.exr"
    write_exr(exr, {"R": np.zeros((4, 4), np.float32)})
    with pytest.raises(ProvenanceError, match="sidecar"):
        pv.verify(exr)


def test_a_manifest_from_another_tool_is_read(tmp_path: Path) -> None:
    import c2pa

    folder = pv.key_set_dir("other")
    pv.new_keys("other", organisation="Another Tool Inc")
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(b"es256", (folder / "signer.pem").read_bytes(),
                                                       (folder / "signer.key").read_bytes(), None))  # fmt: skip
    src = tmp_path / "in.jpg"
    src.write_bytes(_jpeg())
    builder = c2pa.Builder({"claim_generator_info": [{"name": "OtherCam", "version": "9"}], "assertions": [
        {"label": "c2pa.actions", "data": {"actions": [{"action": "c2pa.created", "digitalSourceType":
         "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}]})  # fmt: skip
    builder.sign_file(str(src), str(tmp_path / "other.jpg"), signer)
    v = pv.verify(tmp_path / "other.jpg")
    assert v.ok and v.generator == "OtherCam 9"
    assert v.actions[0]["source_type"] == "digitalCapture"
    assert v.models == () and v.consent is None


def _store(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
        (folder / name).chmod(0o600)


def test_an_expired_certificate_is_refused_before_anything_is_signed(tmp_path: Path) -> None:
    files = pv.make_key_set("Old Co", "old signer", days=1,
                            now=dt.datetime.now(dt.UTC) - dt.timedelta(days=30))  # fmt: skip
    _store(tmp_path / "old", files)
    with pytest.raises(ProvenanceError, match="expired"):
        pv.load_identity(tmp_path / "old" / "signer.pem", tmp_path / "old" / "signer.key")


def test_certificates_without_the_c2pa_usages_are_refused(tmp_path: Path) -> None:
    files = pv.make_key_set("Co", "signer")
    # the CA itself is not a signer
    _store(tmp_path / "ca", {"signer.pem": files["ca.pem"], "signer.key": files["ca.key"]})
    with pytest.raises(ProvenanceError, match="CA certificate"):
        pv.load_identity(tmp_path / "ca" / "signer.pem", tmp_path / "ca" / "signer.key")
    # a key that is not the certificate's
    _store(tmp_path / "mixed", {"signer.pem": files["signer.pem"], "signer.key": files["ca.key"]})
    with pytest.raises(ProvenanceError, match="does not belong"):
        pv.load_identity(tmp_path / "mixed" / "signer.pem", tmp_path / "mixed" / "signer.key")
    # the signing certificate alone (no chain): validators refuse a lone end-entity
    lone = files["signer.pem"][: files["signer.pem"].index(b"-----END CERTIFICATE-----") + 26]
    _store(tmp_path / "lone", {"signer.pem": lone, "signer.key": files["signer.key"]})
    with pytest.raises(ProvenanceError, match="chain has no CA"):
        pv.load_identity(tmp_path / "lone" / "signer.pem", tmp_path / "lone" / "signer.key")


def test_a_certificate_without_digital_signature_usage_is_refused(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    files = pv.make_key_set("Co", "signer")
    ca_cert = x509.load_pem_x509_certificate(files["ca.pem"])
    ca_key = serialization.load_pem_private_key(files["ca.key"], None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=9))
            .add_extension(x509.KeyUsage(False, False, True, False, False, False, False, False, False), True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]  # fmt: skip
    pem = serialization.Encoding.PEM
    _store(tmp_path / "k", {"signer.pem": cert.public_bytes(pem) + files["ca.pem"],
                            "signer.key": key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption())})  # fmt: skip
    with pytest.raises(ProvenanceError, match="digitalSignature"):
        pv.load_identity(tmp_path / "k" / "signer.pem", tmp_path / "k" / "signer.key")


def test_a_private_key_others_can_read_is_refused(tmp_path: Path) -> None:
    _store(tmp_path / "k", pv.make_key_set("Co", "signer"))
    (tmp_path / "k" / "signer.key").chmod(0o644)
    with pytest.raises(ProvenanceError, match="read by others"):
        pv.load_identity(tmp_path / "k" / "signer.pem", tmp_path / "k" / "signer.key")


def test_missing_keys_say_how_to_make_them(tmp_path: Path) -> None:
    with pytest.raises(ProvenanceError, match="moviola keys new"):
        pv.load_identity(tmp_path / "nope.pem", tmp_path / "nope.key")


def test_keys_new_never_replaces_a_key_set_without_force() -> None:
    first = pv.new_keys("mine")
    with pytest.raises(ProvenanceError, match="--force"):
        pv.new_keys("mine")
    second = pv.new_keys("mine", force=True)
    assert second.fingerprint != first.fingerprint
    aside = list(pv.keys_root().glob("mine.replaced-*"))
    assert len(aside) == 1 and (aside[0] / "signer.key").is_file()  # the old key is kept


def test_the_project_records_which_certificate_signs_it(tmp_path: Path) -> None:
    project = init_project(tmp_path / "p")
    creds = pv.credentials_for(project)
    assert open_project(tmp_path / "p").provenance == {}  # nothing signed yet: the project is as it was
    creds.write_bytes(tmp_path / "p" / "one.png", _png(), _claim())
    reopened = open_project(tmp_path / "p")
    assert reopened.provenance["fingerprint"] == creds.identity.fingerprint
    assert reopened.provenance["keys"] == "default"
    # another key set under the same name (another account, a replaced key) is refused
    pv.new_keys("default", force=True)
    with pytest.raises(ProvenanceError, match="keys use"):
        pv.credentials_for(open_project(tmp_path / "p"))
    pv.use_keys(open_project(tmp_path / "p"), "default")
    assert pv.credentials_for(open_project(tmp_path / "p")).identity.fingerprint != creds.identity.fingerprint


def test_a_failed_signing_leaves_no_file(tmp_path: Path, creds: pv.Credentials) -> None:
    claim = _claim(parent=pv.Ingredient(tmp_path / "gone.jpg", "plate", "parentOf"))
    with pytest.raises(InputError, match="ingredient"):
        creds.write_bytes(tmp_path / "out.png", _png(), claim)
    exr = tmp_path / "f.exr"
    with pytest.raises(InputError):
        from moviola.core import atomic_path

        with atomic_path(exr, ".exr", creds.finisher(exr, claim)) as tmp:
            tmp.write_bytes(b"not really an exr")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_manifest_definition_opens_with_created_or_opened() -> None:
    created = pv.manifest(_claim(), "a.png", ("Moviola", "1"))
    acts = created["assertions"][0]["data"]["actions"]
    assert acts[0]["action"] == "c2pa.created"
    assert acts[0]["digitalSourceType"] == pv.IPTC + "algorithmicMedia"
    with pytest.raises(ValueError):
        _claim(source_type="magic")
    edited = pv.manifest(_claim(parent=pv.Ingredient(PLATE, "plate", "parentOf")), "a.png", ("Moviola", "1"))
    assert [a["action"] for a in edited["assertions"][0]["data"]["actions"]] == ["c2pa.opened", "c2pa.edited"]
    json.dumps(edited)  # plain JSON, as c2pa takes it


def test_a_folder_scan_reads_every_signed_file_and_names_the_unsigned(tmp_path: Path, creds: pv.Credentials) -> None:
    creds.write_bytes(tmp_path / "a" / "one.png", _png(), _claim(what="one"))
    write_exr(tmp_path / "a" / "two.exr", {"R": np.zeros((4, 4), np.float32)})
    creds.sign_existing(tmp_path / "a" / "two.exr", _claim(what="two"))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "plain.jpg").write_bytes(_jpeg())
    (tmp_path / "b" / ".partial.png").write_bytes(_png())  # a temporary: not a deliverable
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "x.png").write_bytes(_png())
    (tmp_path / "notes.txt").write_text("not a picture")
    found = {v.path.relative_to(tmp_path).as_posix(): v for v in pv.read_all(tmp_path)}
    assert sorted(found) == ["a/one.png", "a/two.exr", "b/plain.jpg"]
    assert found["a/one.png"].render["description"] == "one" and found["a/two.exr"].ok
    assert found["b/plain.jpg"].state == pv.BROKEN and "no Content Credentials" in found["b/plain.jpg"].problems[0]
