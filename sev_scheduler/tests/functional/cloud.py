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
against a real cloud. Here the requests reach Nova's real API and
Placement through wsgi-intercept (how Nova's own functional tests reach
them). Nova's harness has no Glance service, only a GlanceFixture that
answers Nova in process: images are served from it as Glance's v2 API
shows them, so the tools read the very images Nova booted from. Ports are
served likewise from Nova's NeutronFixture.
"""

import json

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from oslo_utils import uuidutils
from wsgi_intercept import interceptor

from sev_scheduler.operators import cloud as sev_cloud
from sev_scheduler.tests.functional import base


def _glance_v2(image):
    """An image as Glance v2 shows it: properties at the top level."""
    shown = {key: value for key, value in image.items()
             if key not in ('properties', 'deleted', 'deleted_at',
                            'is_public')}
    shown.update(image.get('properties') or {})
    shown['visibility'] = 'public' if image.get('is_public') else 'private'
    return json.loads(json.dumps(shown, default=str))


class _GlanceApp:
    """GET /v2/images[/ID] over Nova's GlanceFixture."""

    def __init__(self, fixture):
        self.fixture = fixture

    def __call__(self, environ, start_response):
        parts = environ['PATH_INFO'].strip('/').split('/')
        if environ['REQUEST_METHOD'] != 'GET' or parts[:2] != ['v2', 'images']:
            return self._answer(start_response, '404 Not Found', {})
        if len(parts) == 2:
            return self._answer(start_response, '200 OK', {'images': [
                _glance_v2(image)
                for image in self.fixture.images.values()]})
        image = self.fixture.images.get(parts[2])
        if image is None:
            return self._answer(start_response, '404 Not Found', {})
        return self._answer(start_response, '200 OK', _glance_v2(image))

    @staticmethod
    def _answer(start_response, status, body):
        data = json.dumps(body).encode()
        start_response(status, [('Content-Type', 'application/json'),
                                ('Content-Length', str(len(data)))])
        return [data]


class _NeutronApp:
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
            return _GlanceApp._answer(start_response, '404 Not Found', {})
        return _GlanceApp._answer(start_response, '200 OK', {'port': port})


class OperatorTestBase(base.SEVTestBase):
    """SEV hosts, and the operator tools' Cloud on the in-process APIs."""

    def setUp(self):
        super().setUp()
        self.glance_endpoint = 'http://%s/' % uuidutils.generate_uuid()
        glance = interceptor.RequestsInterceptor(
            lambda: _GlanceApp(self.glance), url=self.glance_endpoint)
        glance.install_intercept()
        self.addCleanup(glance.uninstall_intercept)
        self.neutron_endpoint = 'http://%s/' % uuidutils.generate_uuid()
        neutron = interceptor.RequestsInterceptor(
            lambda: _NeutronApp(self.neutron), url=self.neutron_endpoint)
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
            auth=token_endpoint.Token(None, 'admin'),
            additional_headers={
                'X-Auth-User': 'admin',
                'X-Auth-Project-Id': self.api_fixture.project_id,
                'X-Roles': 'admin'})
        return sev_cloud.from_session(session, endpoints=self.endpoints())
