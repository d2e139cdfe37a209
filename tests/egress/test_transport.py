"""GuardedTransport against real local servers: TLS stays on the host name while the socket goes to the
checked address, every redirect hop is checked, and a DNS answer that changes cannot redirect a connection."""

from __future__ import annotations

import datetime
import ssl

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connectors.egress import EgressRefused, GuardedTransport, Policy
from tests.egress.conftest import http_server


def allowing(networks: str, hosts: str = "") -> Policy:
    return Policy.for_connector({"allowed_hosts": hosts, "allowed_networks": networks}, private_default=False)


def client(policy: Policy, **kwargs) -> httpx.Client:
    return httpx.Client(transport=GuardedTransport(policy, **kwargs), trust_env=False, follow_redirects=True)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A certificate for api.erp.test only (no IP address in it), and a CA bundle trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.erp.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("api.erp.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return folder


def test_tls_checks_the_host_name_while_the_socket_goes_to_the_checked_address(certificate, resolver):
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    seen_sni = []
    server_tls.sni_callback = lambda sock, name, context: seen_sni.append(name)
    trust = ssl.create_default_context(cafile=str(certificate / "cert.pem"))
    resolver.add("api.erp.test", ["127.0.0.2"])
    with http_server("127.0.0.2", tls=server_tls) as server:
        port = server.server_address[1]
        with client(allowing("127.0.0.2/32", "api.erp.test"), verify=trust) as http:
            response = http.get(f"https://api.erp.test:{port}/")
        assert response.status_code == 200
        assert response.text == "hello from 127.0.0.2"
        assert seen_sni == ["api.erp.test"]
        assert server.hosts == [f"api.erp.test:{port}"]
        # The same server by address: the certificate does not name it, so verification is really on.
        with client(allowing("127.0.0.2/32"), verify=trust) as http, pytest.raises(httpx.ConnectError) as failed:
            http.get(f"https://127.0.0.2:{port}/")
        assert "certificate" in str(failed.value).lower()


def test_a_redirect_to_a_refused_address_is_refused_and_nothing_reaches_it(canary):
    with http_server("127.0.0.2", redirect_to=f"http://127.0.0.1:{canary.port}/") as server:
        with client(allowing("127.0.0.2/32")) as http, pytest.raises(EgressRefused) as refused:
            http.get(f"http://127.0.0.2:{server.server_address[1]}/start")
        assert server.hosts  # the first hop was served
    assert "127.0.0.1 is a loopback address; allow it in the connector's private networks" in str(refused.value)
    assert canary.connections == 0


def test_a_redirect_to_a_host_outside_the_allowed_hosts_is_refused(resolver, canary):
    resolver.add("api.erp.test", ["127.0.0.2"])
    resolver.add("evil.erp.test", ["127.0.0.2"])
    with http_server("127.0.0.2") as target:
        port = target.server_address[1]
        redirecting = http_server("127.0.0.2", redirect_to=f"http://evil.erp.test:{port}/")
        http = client(allowing("127.0.0.2/32", "api.erp.test"))
        with redirecting as server, http, pytest.raises(EgressRefused) as refused:
            http.get(f"http://api.erp.test:{server.server_address[1]}/")
        assert target.hosts == []
    assert "evil.erp.test is not in the connector's allowed hosts" in str(refused.value)


def test_a_dns_answer_that_changes_after_the_check_cannot_redirect_the_connection(resolver, canary):
    """A rebinding DNS server answers an allowed address to the check, then loopback; the connection
    goes to the checked address because the transport never asks DNS again."""
    with http_server("127.0.0.2") as server:
        port = server.server_address[1]
        resolver.add("rebind.erp.test", ["127.0.0.2"], ["127.0.0.1"])
        with client(allowing("127.0.0.2/32")) as http:
            response = http.get(f"http://rebind.erp.test:{port}/")
        assert response.text == "hello from 127.0.0.2"
        assert resolver.lookups == ["rebind.erp.test"]
        # The next new connection asks again, and gets (and refuses) the new answer.
        with client(allowing("127.0.0.2/32")) as http, pytest.raises(EgressRefused) as refused:
            http.get(f"http://rebind.erp.test:{canary.port}/")
    assert "rebind.erp.test resolves to 127.0.0.1, which is a loopback address" in str(refused.value)
    assert canary.connections == 0


def test_a_name_with_one_refused_address_among_allowed_ones_is_refused(resolver, canary):
    resolver.add("mixed.erp.test", ["127.0.0.2", "127.0.0.1"])
    with client(allowing("127.0.0.2/32")) as http, pytest.raises(EgressRefused) as refused:
        http.get(f"http://mixed.erp.test:{canary.port}/")
    assert "mixed.erp.test resolves to 127.0.0.1" in str(refused.value)
    assert canary.connections == 0


def test_public_addresses_are_allowed_without_any_allowlist(resolver):
    resolver.add("public.erp.test", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
    policy = allowing("")
    assert policy.check_host("public.erp.test", 443) == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    assert policy.check_host("[::ffff:5db8:d70e]", 80) == ["93.184.215.14"]


def test_the_transport_refuses_proxies_and_unix_sockets():
    with pytest.raises(TypeError):
        GuardedTransport(allowing(""), proxy="http://127.0.0.1:3128")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        GuardedTransport(allowing(""), uds="/run/docker.sock")  # type: ignore[call-arg]
