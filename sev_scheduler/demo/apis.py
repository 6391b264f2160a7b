#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""The in-process cloud reached through the operator tools' own clients.

The operator commands read the cloud over HTTP with keystoneauth, as
against a real cloud. In Nova's harness the requests reach Nova's real API
and Placement through wsgi-intercept (how Nova's own functional tests reach
them). The harness has no Glance service, only a GlanceFixture that answers
Nova in process: images are served from it as Glance's v2 API shows them,
so the tools read the very images Nova booted from. Ports are served
likewise from Nova's NeutronFixture.

The demo and the functional tests share this; the demo can also serve the
same applications on real 127.0.0.1 ports (``serve``), for a clouds.yaml.
"""

import json
import socketserver
import threading
import urllib.parse
from wsgiref import simple_server

# Nova's functional package first: its eventlet patching must precede
# oslo.db and urllib3 (see tests/functional/__init__.py).
import nova.tests.functional  # noqa: F401

import fixtures  # noqa: H306
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from oslo_utils import uuidutils
import wsgi_intercept
from wsgi_intercept import interceptor

from nova.api import auth
from nova import context

from sev_scheduler.operators import cloud as sev_cloud

#: The token a clouds.yaml of the in-process cloud authenticates with:
#: Placement's noauth takes it as admin, and TokenUserFixture makes Nova's
#: harness API do the same.
ADMIN_TOKEN = 'admin'


def glance_v2(image):
    """An image as Glance v2 shows it: properties at the top level."""
    shown = {key: value for key, value in image.items()
             if key not in ('properties', 'deleted', 'deleted_at',
                            'is_public')}
    shown.update(image.get('properties') or {})
    shown['visibility'] = 'public' if image.get('is_public') else 'private'
    return json.loads(json.dumps(shown, default=str))


def _answer(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(data)))])
    return [data]


class GlanceApp:
    """GET /v2/images[/ID] over Nova's GlanceFixture."""

    def __init__(self, fixture):
        self.fixture = fixture

    def __call__(self, environ, start_response):
        parts = environ['PATH_INFO'].strip('/').split('/')
        if environ['REQUEST_METHOD'] != 'GET' or parts[:2] != ['v2', 'images']:
            return _answer(start_response, '404 Not Found', {})
        if len(parts) == 2:
            return _answer(start_response, '200 OK', {'images': [
                glance_v2(image)
                for image in self.fixture.images.values()]})
        image = self.fixture.images.get(parts[2])
        if image is None:
            return _answer(start_response, '404 Not Found', {})
        return _answer(start_response, '200 OK', glance_v2(image))


class NeutronApp:
    """GET /v2.0/ports/ID over Nova's NeutronFixture."""

    def __init__(self, fixture):
        self.fixture = fixture

    def __call__(self, environ, start_response):
        parts = environ['PATH_INFO'].strip('/').split('/')
        port = None
        if (environ['REQUEST_METHOD'] == 'GET' and len(parts) == 3 and
                parts[:2] == ['v2.0', 'ports']):
            port = self.fixture._ports.get(parts[2])
        if port is None:
            return _answer(start_response, '404 Not Found', {})
        return _answer(start_response, '200 OK', {'port': port})


class TokenUserFixture(fixtures.Fixture):
    """Nova's harness API takes the admin token as Keystone would.

    Nova's OSAPIFixture replaces Keystone's middleware with a context made
    from X-Auth-User, X-Auth-Project-Id and X-Roles headers, which a
    clouds.yaml cannot set. A request with the admin token and none of
    them gets the admin context the token stands for; any other request
    goes to the fixture's own function, patched here in turn.
    """

    def __init__(self, project_id):
        super().__init__()
        self.project_id = project_id

    def _setUp(self):
        headers = auth.NovaKeystoneContext._create_context

        def from_token(env, **kwargs):
            if ('HTTP_X_AUTH_USER' not in env and
                    env.get('HTTP_X_AUTH_TOKEN') == ADMIN_TOKEN):
                return context.RequestContext(
                    'admin', self.project_id, is_admin=True,
                    roles=['admin', 'member', 'reader'], **kwargs)
            return headers(env, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.api.auth.NovaKeystoneContext._create_context', from_token))


class OperatorAPIs:
    """Mixin for a case of Nova's harness: the tools' Cloud on its APIs.

    Listed before the harness's test base: Glance's and Neutron's shims
    are intercepted next to Nova's API and Placement.
    """

    def setUp(self):
        super().setUp()
        self.glance_endpoint = 'http://%s/' % uuidutils.generate_uuid()
        glance = interceptor.RequestsInterceptor(
            lambda: GlanceApp(self.glance), url=self.glance_endpoint)
        glance.install_intercept()
        self.addCleanup(glance.uninstall_intercept)
        self.neutron_endpoint = 'http://%s/' % uuidutils.generate_uuid()
        neutron = interceptor.RequestsInterceptor(
            lambda: NeutronApp(self.neutron), url=self.neutron_endpoint)
        neutron.install_intercept()
        self.addCleanup(neutron.uninstall_intercept)

    def endpoints(self):
        """Service type -> the in-process endpoint the tools use."""
        return {
            'compute': self.api_fixture.base_url,
            # Nova's PlacementApiClient holds its fixture on every
            # release; 2025.1's harness keeps no placement_fixture.
            'placement': self.placement.fixture.endpoint,
            'image': self.glance_endpoint,
            'network': self.neutron_endpoint,
        }

    def cloud(self):
        """A Cloud as an admin's credentials give it."""
        # Nova's harness takes the user and roles from these headers in
        # place of Keystone's; Placement's noauth from the token.
        session = ks_session.Session(
            auth=token_endpoint.Token(None, ADMIN_TOKEN),
            additional_headers={
                'X-Auth-User': 'admin',
                'X-Auth-Project-Id': self.api_fixture.project_id,
                'X-Roles': 'admin'})
        return sev_cloud.from_session(session, endpoints=self.endpoints())


# Real HTTP, for commands run by hand against the in-process cloud.

class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def _mounted(app, script_name):
    """The app as wsgi-intercept calls it: SCRIPT_NAME split off."""
    def mounted(environ, start_response):
        path = environ.get('PATH_INFO', '')
        if script_name and path.startswith(script_name):
            environ['SCRIPT_NAME'] = script_name
            environ['PATH_INFO'] = path[len(script_name):]
        return app(environ, start_response)
    return mounted


def _serve_green(app):
    """Serve with eventlet's server in a greenthread: (port, stop)."""
    import eventlet
    from eventlet import wsgi
    sock = eventlet.listen(('127.0.0.1', 0))
    thread = eventlet.spawn(wsgi.server, sock, app, log_output=False)

    def stop():
        thread.kill()
        sock.close()
    return sock.getsockname()[1], stop


def _serve_threads(app):
    """Serve with a ThreadingWSGIServer in a thread: (port, stop)."""
    server = simple_server.make_server(
        '127.0.0.1', 0, app, server_class=_Server,
        handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop():
        server.shutdown()
        server.server_close()
    return server.server_address[1], stop


def _eventlet_patched():
    try:
        from eventlet import patcher
    except ImportError:
        return False
    return patcher.is_monkey_patched('socket')


class Served:
    """Each intercepted endpoint also served on a 127.0.0.1 port.

    The WSGI applications are the ones wsgi-intercept calls (Nova's API,
    Placement, the Glance and Neutron shims), each served in the
    background until ``stop``: by a ThreadingWSGIServer in a thread, or,
    where Nova's harness runs on eventlet, by eventlet's server in a
    greenthread (a selector loop in a green thread would block them all).
    """

    def __init__(self, endpoints):
        """:param endpoints: service type -> intercepted endpoint URL."""
        self.endpoints = {}
        self._stops = []
        self._start = (_serve_green if _eventlet_patched()
                       else _serve_threads)
        try:
            for service, url in endpoints.items():
                self.endpoints[service] = self._serve(url)
        except Exception:
            self.stop()
            raise

    def _serve(self, url):
        parts = urllib.parse.urlsplit(url)
        port = parts.port or 80
        app_fn, script_name = wsgi_intercept._wsgi_intercept[
            (parts.hostname, port)]
        port, stop = self._start(_mounted(app_fn(), script_name))
        self._stops.append(stop)
        return urllib.parse.urlunsplit(parts._replace(
            netloc='127.0.0.1:%d' % port))

    def clouds_yaml(self, name):
        """A clouds.yaml of one admin cloud on the served endpoints.

        The admin token, no Keystone, and ``<service>_endpoint_override``
        for each API, as for a cloud without a service catalog.
        """
        settings = {
            'auth_type': 'admin_token',
            # 'auth_token', not 'token': openstacksdk 4.4 (2025.1) sends
            # the token "None" for an admin_token cloud saying 'token'.
            'auth': {'endpoint': self.endpoints['placement'],
                     'auth_token': ADMIN_TOKEN},
        }
        for service, url in sorted(self.endpoints.items()):
            settings['%s_endpoint_override' % service] = url
        return {'clouds': {name: settings}}

    def stop(self):
        for stop in self._stops:
            stop()
        self._stops = []
