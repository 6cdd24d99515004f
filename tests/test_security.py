"""Security as ES has it, against a real server over HTTPS: basic auth (users added with the CLI), API keys,
``_security/_authenticate``, ES's 401s, TLS with a CA made here, and the refusal to serve a non-loopback
address without authentication (checked before binding; no traffic leaves loopback).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import REPO, START_TIMEOUT, ServerProcess

PASSWORD = "s3cret-pw"
CHALLENGES = ['Basic realm="security", charset="UTF-8"', "ApiKey"]
NO_ANON = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"


# -- fixtures: a CA and a server certificate made here, users added with the CLI, a server on HTTPS --------


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """(ca.pem, cert.pem, key.pem): a CA, and a certificate it signs for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("quidditch test ca"))
        .issuer_name(_name("quidditch test ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


def quidditch(*args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m server.cli ARGS`` from this worktree."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class TlsServer(ServerProcess):
    """A :class:`ServerProcess` on HTTPS (``QUIDDITCH_TLS_*``), ready when it answers at all (401 included)."""

    def __init__(self, data_dir: Path, ca: Path, cert: Path, key: Path) -> None:
        super().__init__(data_dir, {"QUIDDITCH_TLS_CERT": str(cert), "QUIDDITCH_TLS_KEY": str(key)})
        self.ca = ca

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                httpx.get(self.url + "/", verify=ssl.create_default_context(cafile=str(self.ca)), timeout=2.0)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {START_TIMEOUT}s:\n{self.log_tail()}")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory, tls_files: tuple[Path, Path, Path]) -> Iterator[TlsServer]:
    data = tmp_path_factory.mktemp("secure") / "data"
    added = quidditch("users", "add", "elastic", "--password", PASSWORD, "--data-dir", str(data))
    assert added.returncode == 0, added.stderr
    ca, cert, key = tls_files
    server = TlsServer(data, ca, cert, key)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def client(server: TlsServer, auth: tuple[str, str] | None = None, **headers: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url,
        verify=ssl.create_default_context(cafile=str(server.ca)),
        auth=auth,
        headers=headers,
        timeout=30,
    )


def es(server: TlsServer, **kwargs: Any) -> Any:
    from elasticsearch import Elasticsearch

    return Elasticsearch(server.url, ca_certs=str(server.ca), request_timeout=30, **kwargs)


def assert_401(response: httpx.Response, reason: str, unsuccessful: str | None = None) -> None:
    """ES's 401: the two challenges as headers and in the body, ``root_cause`` equal to the error."""
    assert response.status_code == 401, response.text
    assert response.headers.get_list("www-authenticate") == CHALLENGES
    cause: dict[str, Any] = {"type": "security_exception", "reason": reason}
    if unsuccessful is not None:
        cause["additional_unsuccessful_credentials"] = unsuccessful
    cause["header"] = {"WWW-Authenticate": CHALLENGES}
    assert response.json() == {"error": {"root_cause": [cause], **cause}, "status": 401}


# -- 401s -------------------------------------------------------------------------------------------------


def test_no_credentials_is_es_401_even_for_root(secure: TlsServer) -> None:
    with client(secure) as http:
        assert_401(http.get("/"), "missing authentication credentials for REST request [/]")
        assert_401(
            http.get("/logs/_search", params={"q": "a"}),
            "missing authentication credentials for REST request [/logs/_search?q=a]",
        )
        # a scheme this server has no realm for reads as no credentials
        assert_401(
            http.get("/", headers={"Authorization": "Bearer abc"}),
            "missing authentication credentials for REST request [/]",
        )
        head = http.head("/")
        assert head.status_code == 401 and head.content == b""
        assert head.headers.get_list("www-authenticate") == CHALLENGES
        # nothing was written: a PUT without credentials creates no index
        assert http.put("/sneaky", json={}).status_code == 401
    with client(secure, ("elastic", PASSWORD)) as http:
        assert http.head("/sneaky").status_code == 404


def test_wrong_password_and_unknown_user(secure: TlsServer) -> None:
    with client(secure, ("elastic", "not-the-password")) as http:
        assert_401(
            http.get("/_cluster/health"), "unable to authenticate user [elastic] for REST request [/_cluster/health]"
        )
    with client(secure, ("nobody", PASSWORD)) as http:
        assert_401(http.get("/"), "unable to authenticate user [nobody] for REST request [/]")
    with client(secure, Authorization="Basic !!!notbase64") as http:
        assert_401(http.get("/"), "invalid basic authentication header encoding")
    with client(secure, Authorization="Basic " + base64.b64encode(b"no-colon").decode()) as http:
        assert_401(http.get("/"), "invalid basic authentication header value")


def test_official_client_basic_auth(secure: TlsServer) -> None:
    from elasticsearch import AuthenticationException

    good = es(secure, basic_auth=("elastic", PASSWORD))
    assert good.info()["version"]["number"].startswith("8.")
    good.index(index="books", id="1", document={"title": "dune"}, refresh=True)
    assert good.search(index="books", query={"match": {"title": "dune"}})["hits"]["total"]["value"] == 1
    me = good.security.authenticate().body
    assert me == {
        "username": "elastic",
        "roles": ["superuser"],
        "full_name": None,
        "email": None,
        "metadata": {},
        "enabled": True,
        "authentication_realm": {"name": "default_file", "type": "file"},
        "lookup_realm": {"name": "default_file", "type": "file"},
        "authentication_type": "realm",
    }
    bad = es(secure, basic_auth=("elastic", "wrong-password"))
    with pytest.raises(AuthenticationException) as raised:
        bad.count(index="books")
    assert raised.value.status_code == 401
    assert (
        raised.value.body["error"]["reason"] == "unable to authenticate user [elastic] for REST request [/books/_count]"
    )


def test_opensearch_client_http_auth(secure: TlsServer) -> None:
    import opensearchpy

    good = opensearchpy.OpenSearch(
        hosts=[secure.url], http_auth=("elastic", PASSWORD), use_ssl=True, verify_certs=True,
        ca_certs=str(secure.ca), timeout=30,
    )  # fmt: skip
    good.index(index="os-books", id="1", body={"title": "dune"}, refresh=True)
    assert good.count(index="os-books")["count"] == 1
    bad = opensearchpy.OpenSearch(
        hosts=[secure.url], http_auth=("elastic", "nope-nope"), use_ssl=True, ca_certs=str(secure.ca), timeout=30
    )
    with pytest.raises(opensearchpy.AuthenticationException) as raised:
        bad.count(index="os-books")
    assert raised.value.status_code == 401


# -- TLS --------------------------------------------------------------------------------------------------


def test_tls_needs_the_ca_and_https(secure: TlsServer, tmp_path: Path) -> None:
    from elasticsearch import ConnectionError as EsConnectionError
    from elasticsearch import Elasticsearch

    # the server certificate chains to the CA made here, and to nothing the system trusts
    other_ca, _, _ = make_tls_files(tmp_path)
    untrusting = Elasticsearch(secure.url, basic_auth=("elastic", PASSWORD), ca_certs=str(other_ca), max_retries=0)
    with pytest.raises(EsConnectionError):
        untrusting.info()
    # plain HTTP on the TLS port gets no HTTP answer
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{secure.port}/", auth=("elastic", PASSWORD), timeout=5)
    trusting = es(secure, basic_auth=("elastic", PASSWORD))
    assert trusting.info()["tagline"] == "You Know, for Search"


# -- API keys ---------------------------------------------------------------------------------------------


def test_api_key_lifecycle_with_official_client(secure: TlsServer) -> None:
    from elasticsearch import AuthenticationException

    admin = es(secure, basic_auth=("elastic", PASSWORD))
    writer = {"writer": {"indices": [{"names": ["*"], "privileges": ["all"]}]}}
    created = admin.security.create_api_key(
        name="ingest", expiration="1d", role_descriptors=writer, metadata={"team": "search"}
    ).body
    assert set(created) == {"id", "name", "expiration", "api_key", "encoded"}
    assert created["name"] == "ingest"
    assert base64.b64decode(created["encoded"]).decode() == f"{created['id']}:{created['api_key']}"
    day_ms = 24 * 3600 * 1000
    assert abs(created["expiration"] - (time.time() * 1000 + day_ms)) < 60_000

    by_tuple = es(secure, api_key=(created["id"], created["api_key"]))
    by_encoded = es(secure, api_key=created["encoded"])
    for keyed in (by_tuple, by_encoded):
        me = keyed.security.authenticate().body
        assert me["username"] == "elastic" and me["authentication_type"] == "api_key"
        assert me["api_key"] == {"id": created["id"], "name": "ingest"}
        assert me["authentication_realm"] == {"name": "_es_api_key", "type": "_es_api_key"}
        assert me["lookup_realm"] == {"name": "_es_api_key", "type": "_es_api_key"}
        assert me["enabled"] is True and me["roles"] == []
    by_tuple.index(index="keyed", id="1", document={"n": 1}, refresh=True)
    assert by_encoded.count(index="keyed")["count"] == 1

    listed = admin.security.get_api_key(id=created["id"]).body["api_keys"]
    assert len(listed) == 1
    info = listed[0]
    assert info["id"] == created["id"] and info["name"] == "ingest" and info["invalidated"] is False
    assert (
        info["username"] == "elastic"
        and info["realm"] == "default_file"
        and info["expiration"] == created["expiration"]
    )
    assert info["metadata"] == {"team": "search"}
    assert info["role_descriptors"] == writer
    assert "api_key" not in info and "hash" not in info
    assert [k["id"] for k in admin.security.get_api_key(name="ingest").body["api_keys"]] == [created["id"]]
    assert created["id"] in [k["id"] for k in admin.security.get_api_key(owner=True).body["api_keys"]]
    assert admin.security.get_api_key(username="somebody-else").body["api_keys"] == []

    # a wrong secret for a real id, and an id that does not exist
    with client(secure, Authorization="ApiKey " + base64.b64encode(f"{created['id']}:wrong".encode()).decode()) as http:
        assert_401(http.get("/"), NO_ANON, f"API key: invalid credentials for API key [{created['id']}]")
    with client(secure, Authorization="ApiKey " + base64.b64encode(b"no-such-id:whatever").decode()) as http:
        assert_401(http.get("/"), NO_ANON, "API key: unable to find apikey with id no-such-id")

    gone = admin.security.invalidate_api_key(ids=[created["id"]]).body
    assert gone == {"invalidated_api_keys": [created["id"]], "previously_invalidated_api_keys": [], "error_count": 0}
    again = admin.security.invalidate_api_key(ids=[created["id"]]).body
    assert again == {"invalidated_api_keys": [], "previously_invalidated_api_keys": [created["id"]], "error_count": 0}
    with pytest.raises(AuthenticationException):
        by_tuple.count(index="keyed")
    with client(secure, Authorization=f"ApiKey {created['encoded']}") as http:
        assert_401(http.get("/keyed/_count"), NO_ANON, "API key: api key has been invalidated")
    listed_after = admin.security.get_api_key(id=created["id"]).body["api_keys"][0]
    assert listed_after["invalidated"] is True and isinstance(listed_after["invalidation"], int)
    assert admin.security.get_api_key(id=created["id"], active_only=True).body["api_keys"] == []


def test_invalidate_by_name(secure: TlsServer) -> None:
    admin = es(secure, basic_auth=("elastic", PASSWORD))
    first = admin.security.create_api_key(name="batch-job").body
    second = admin.security.create_api_key(name="batch-job").body
    kept = admin.security.create_api_key(name="other-job").body
    gone = admin.security.invalidate_api_key(name="batch-job").body
    assert sorted(gone["invalidated_api_keys"]) == sorted([first["id"], second["id"]])
    assert gone["error_count"] == 0
    assert es(secure, api_key=kept["encoded"]).count()["count"] >= 0
    with client(secure, Authorization=f"ApiKey {first['encoded']}") as http:
        assert http.get("/").status_code == 401


def test_api_key_expires(secure: TlsServer) -> None:
    admin = es(secure, basic_auth=("elastic", PASSWORD))
    created = admin.security.create_api_key(name="short-lived", expiration="1s").body
    with client(secure, Authorization=f"ApiKey {created['encoded']}") as http:
        assert http.get("/").status_code == 200
        time.sleep(1.2)
        assert_401(http.get("/"), NO_ANON, "API key: api key is expired")
    assert admin.security.get_api_key(id=created["id"], active_only=True).body["api_keys"] == []


def test_api_key_request_errors(secure: TlsServer) -> None:
    with client(secure, ("elastic", PASSWORD)) as http:
        missing = http.post("/_security/api_key", json={"expiration": "1d"})
        assert missing.status_code == 400
        assert missing.json()["error"]["type"] == "action_request_validation_exception"
        assert missing.json()["error"]["reason"] == "Validation Failed: 1: api key name is required;"
        unknown = http.post("/_security/api_key", json={"name": "k", "colour": "red"})
        assert unknown.status_code == 400 and "unknown field [colour]" in unknown.json()["error"]["reason"]
        bad_time = http.post("/_security/api_key", json={"name": "k", "expiration": "soon"})
        assert bad_time.status_code == 400 and bad_time.json()["error"]["type"] == "parse_exception"
        assert bad_time.json()["error"]["reason"] == (
            "failed to parse setting [expiration] with value [soon] as a time value: unit is missing or unrecognized"
        )
        nothing = http.request("DELETE", "/_security/api_key", json={})
        assert nothing.status_code == 400
        assert "must be specified if [owner] flag is false" in nothing.json()["error"]["reason"]
        assert http.get("/_security/api_key", params={"colour": "red"}).status_code == 400
        limited = http.get("/_security/api_key", params={"with_limited_by": "true"})
        assert limited.status_code == 400 and "[with_limited_by]" in limited.json()["error"]["reason"]


def test_secrets_are_stored_hashed_and_never_logged(secure: TlsServer) -> None:
    admin = es(secure, basic_auth=("elastic", PASSWORD))
    created = admin.security.create_api_key(name="audit").body
    with client(secure, ("elastic", "a-wrong-password")) as http:
        assert http.get("/").status_code == 401
    security = Path(secure.data_dir) / "security"
    stored = json.loads((security / "api_keys.json").read_text())
    record = next(k for k in stored["api_keys"] if k["id"] == created["id"])
    assert record["hash"].startswith("{SSHA256}")
    assert created["api_key"] not in (security / "api_keys.json").read_text()
    users = (security / "users").read_text()
    assert users.startswith("elastic:$2") and PASSWORD not in users
    assert all(oct(p.stat().st_mode & 0o777) == "0o600" for p in security.iterdir())
    log = secure.log_path.read_text(errors="replace")
    for secret in (PASSWORD, "a-wrong-password", created["api_key"], created["encoded"]):
        assert secret not in log
    assert "authentication failed for user [elastic]" in log


# -- the users CLI against a running server ----------------------------------------------------------------


def test_users_cli_changes_reach_the_running_server(secure: TlsServer) -> None:
    data = secure.data_dir
    assert quidditch("users", "add", "kibana", "--password", "kibana-pw", "--data-dir", data).returncode == 0
    with client(secure, ("kibana", "kibana-pw")) as http:
        assert http.get("/_security/_authenticate").json()["username"] == "kibana"
    duplicate = quidditch("users", "add", "kibana", "--password", "kibana-pw", "--data-dir", data)
    assert duplicate.returncode == 1 and "user [kibana] already exists" in duplicate.stderr
    listed = quidditch("users", "list", "--data-dir", data).stdout.splitlines()
    assert [line.split(":")[0].strip() for line in listed] == ["elastic", "kibana"]
    assert all(line.split(":")[1].strip() == "superuser" for line in listed)

    # the password from a prompt (no echo, asked twice)
    changed = quidditch("users", "passwd", "kibana", "--data-dir", data, stdin="new-kibana-pw\nnew-kibana-pw\n")
    assert changed.returncode == 0, changed.stderr
    with client(secure, ("kibana", "kibana-pw")) as http:
        assert http.get("/").status_code == 401
    with client(secure, ("kibana", "new-kibana-pw")) as http:
        assert http.get("/").status_code == 200

    short = quidditch("users", "add", "tiny", "--password", "abc", "--data-dir", data)
    assert short.returncode == 1 and "at least [6] characters" in short.stderr
    bad_role = quidditch("users", "add", "odd", "--password", "abcdef", "--roles", "wizard", "--data-dir", data)
    assert bad_role.returncode == 1 and "unknown role [wizard]" in bad_role.stderr
    no_role = quidditch("users", "add", "odd", "--password", "abcdef", "--roles", "", "--data-dir", data)
    assert no_role.returncode == 1 and "a user needs a role" in no_role.stderr
    colon = quidditch("users", "add", "a:b", "--password", "abcdef", "--data-dir", data)
    assert colon.returncode == 1 and "invalid username" in colon.stderr

    assert quidditch("users", "delete", "kibana", "--data-dir", data).returncode == 0
    with client(secure, ("kibana", "new-kibana-pw")) as http:
        assert_401(http.get("/"), "unable to authenticate user [kibana] for REST request [/]")
    missing = quidditch("users", "delete", "kibana", "--data-dir", data)
    assert missing.returncode == 1 and "user [kibana] doesn't exist" in missing.stderr


# -- what serve refuses before binding --------------------------------------------------------------------


def test_non_loopback_without_auth_is_refused_before_binding(tmp_path: Path) -> None:
    # Were the refusal broken, nothing could be served anyway: the data dir is a file (the node cannot
    # open) and the port is held on loopback (0.0.0.0 cannot bind it); only the message tells them apart.
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = str(held.getsockname()[1])
        refused = quidditch("serve", "--host", "0.0.0.0", "--port", port, "--data-dir", str(not_a_dir), timeout=20)
        tls_half = quidditch("serve", "--port", port, "--data-dir", str(not_a_dir), "--tls-cert", "x.pem", timeout=20)
        missing = str(tmp_path / "missing.pem")
        unreadable = quidditch(
            "serve",
            "--port",
            port,
            "--data-dir",
            str(not_a_dir),
            "--tls-cert",
            missing,
            "--tls-key",
            missing,
            timeout=20,
        )
        # --insecure passes the check, and then fails to open the data dir (still before binding)
        insecure = quidditch(
            "serve", "--host", "0.0.0.0", "--insecure", "--port", port, "--data-dir", str(not_a_dir), timeout=20
        )
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ERROR: refusing to bind [0.0.0.0] without authentication")
    assert "--insecure" in lines[0]
    assert tls_half.returncode == 2 and "--tls-cert and --tls-key go together" in tls_half.stderr
    assert unreadable.returncode == 2 and "cannot load the TLS certificate" in unreadable.stderr
    assert insecure.returncode not in (0, 2) and "refusing to bind" not in insecure.stderr
    assert "NotADirectoryError" in insecure.stderr or "FileExistsError" in insecure.stderr


def test_exposure_rules() -> None:
    from server.security.exposure import ExposureRefused, check_exposure, is_loopback

    for host in ("127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
        check_exposure(host, security_enabled=False, insecure=False)
    for host in ("0.0.0.0", "::", "10.1.2.3", "192.168.0.1"):
        assert not is_loopback(host), host
        with pytest.raises(ExposureRefused):
            check_exposure(host, security_enabled=False, insecure=False)
        check_exposure(host, security_enabled=True, insecure=False)  # authentication on: allowed
        check_exposure(host, security_enabled=False, insecure=True)  # explicitly insecure: allowed


# -- security off (the embedded default) and forced on -----------------------------------------------------


async def test_security_off_ignores_credentials(asgi_client: httpx.AsyncClient) -> None:
    for headers in (
        {},
        {"Authorization": "Basic " + base64.b64encode(b"any:thing").decode()},
        {"Authorization": "ApiKey x"},
    ):
        assert (await asgi_client.get("/", headers=headers)).status_code == 200
    answer = await asgi_client.get("/_security/_authenticate")
    assert answer.status_code == 500
    assert answer.json()["error"]["type"] == "exception"
    assert answer.json()["error"]["reason"].startswith("Security must be explicitly enabled")
    assert (await asgi_client.post("/_security/api_key", json={"name": "k"})).status_code == 500


async def test_security_forced_on_without_users(tmp_path: Path) -> None:
    from server.app import create_app
    from server.settings import load_settings
    from tests.conftest import _starlette_of

    app = create_app(load_settings({"data_dir": str(tmp_path / "data"), "security_enabled": "true"}))
    starlette_app = _starlette_of(app)
    async with starlette_app.router.lifespan_context(starlette_app):
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://quidditch.test") as http:
            assert_401(
                await http.get("/", params={"pretty": "true"}),
                "missing authentication credentials for REST request [/?pretty=true]",
            )
            assert_401(
                await http.get("/", auth=("elastic", "whatever")),
                "unable to authenticate user [elastic] for REST request [/]",
            )
    with pytest.raises(ValueError, match="security_enabled"):
        create_app(load_settings({"data_dir": str(tmp_path / "d2"), "security_enabled": "maybe"}))


def test_sigterm_with_an_idle_tls_client_stops_cleanly(tmp_path: Path, tls_files: tuple[Path, Path, Path]) -> None:
    """asyncio waits 30 s for an idle TLS peer's close_notify unless told otherwise; SIGTERM must not."""
    ca, cert, key = tls_files
    data = tmp_path / "data"
    assert quidditch("users", "add", "elastic", "--password", PASSWORD, "--data-dir", str(data)).returncode == 0
    server = TlsServer(data, ca, cert, key).start()
    try:
        with client(server, ("elastic", PASSWORD)) as idle:
            assert idle.get("/").status_code == 200  # the connection stays open in the pool, unread
            assert server.proc is not None
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            assert server.proc.wait(timeout=20) == 0
            assert time.monotonic() - started < 12
        assert "Traceback" not in server.log_tail(200)  # the idle connection's SSL shutdown is no error
    finally:
        server.kill()


async def test_auto_is_decided_at_start(tmp_path: Path) -> None:
    """``auto``: a user added to a running open server takes effect at its next start; ``false`` keeps it open."""
    from server.app import create_app
    from server.security.users import UserStore
    from server.settings import load_settings
    from tests.conftest import _starlette_of

    data = str(tmp_path / "data")

    @contextlib.asynccontextmanager
    async def started(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(load_settings({"data_dir": data, **overrides}))
        starlette_app = _starlette_of(app)
        async with starlette_app.router.lifespan_context(starlette_app):
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            async with httpx.AsyncClient(transport=transport, base_url="http://quidditch.test") as http:
                yield http

    async with started() as http:
        assert (await http.get("/")).status_code == 200
        UserStore(data).add("late", PASSWORD, ["superuser"])
        assert (await http.get("/")).status_code == 200  # still open: auto was decided at start
    async with started() as http:
        assert (await http.get("/")).status_code == 401
        assert (await http.get("/", auth=("late", PASSWORD))).status_code == 200
    async with started(security_enabled="false") as http:
        assert (await http.get("/")).status_code == 200


def test_damaged_security_files_stop_the_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert quidditch("users", "add", "elastic", "--password", PASSWORD, "--data-dir", str(data)).returncode == 0
    (data / "security" / "api_keys.json").write_text('{"api_keys": [{"id": "x"')
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:  # nothing could be served anyway
        held.bind(("127.0.0.1", 0))
        held.listen()
        started = quidditch("serve", "--port", str(held.getsockname()[1]), "--data-dir", str(data), timeout=20)
    assert started.returncode == 2
    assert started.stderr.startswith("ERROR: damaged api key file [") and len(started.stderr.splitlines()) == 1
    # a users file whose lines do not read would leave auto mode with no users, open: refused too
    (data / "security" / "api_keys.json").unlink()
    (data / "security" / "users").write_text("elastic-without-a-hash\n")
    started = quidditch("serve", "--port", "1", "--data-dir", str(data), timeout=20)
    assert started.returncode == 2 and started.stderr.startswith("ERROR: damaged users file [")
    edit = quidditch("users", "add", "another", "--password", PASSWORD, "--data-dir", str(data))
    assert edit.returncode == 1 and "damaged users file" in edit.stderr  # rewriting would drop the line
    assert (data / "security" / "users").read_text() == "elastic-without-a-hash\n"


def test_ssl_certificates_lists_the_served_certificate(secure: TlsServer, tls_files: tuple[Path, Path, Path]) -> None:
    _, cert_path, _ = tls_files
    served = x509.load_pem_x509_certificate(cert_path.read_bytes())
    with client(secure, ("elastic", PASSWORD)) as http:
        listed = http.get("/_ssl/certificates").json()
    assert listed == [{
        "path": str(cert_path), "format": "PEM", "alias": None, "subject_dn": "CN=127.0.0.1",
        "serial_number": format(served.serial_number, "x"), "has_private_key": True,
        "expiry": served.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }]  # fmt: skip
