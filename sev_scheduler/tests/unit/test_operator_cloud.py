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

"""The operator commands' Cloud over keystoneauth, against HTTP apps."""

import json
import socket

from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from oslo_utils import uuidutils
import testtools
from wsgi_intercept import interceptor

from sev_scheduler.operators import cloud as sev_cloud


def closed_url():
    """An http URL on which nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return 'http://127.0.0.1:%d/v3' % port


class _Flaky:
    """A WSGI app answering 503 to the first ``failures`` calls, then 200."""

    def __init__(self, failures):
        self.failures = failures
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        status = '503 Service Unavailable' if (
            self.calls <= self.failures) else '200 OK'
        data = json.dumps({'calls': self.calls}).encode()
        start_response(status, [('Content-Type', 'application/json'),
                                ('Content-Length', str(len(data)))])
        return [data]


class CloudTestCase(testtools.TestCase):

    def _flaky_cloud(self, failures):
        endpoint = 'http://%s/' % uuidutils.generate_uuid()
        app = _Flaky(failures)
        intercept = interceptor.RequestsInterceptor(lambda: app,
                                                    url=endpoint)
        intercept.install_intercept()
        self.addCleanup(intercept.uninstall_intercept)
        session = ks_session.Session(auth=token_endpoint.Token(None, 'x'))
        return sev_cloud.from_session(session,
                                      endpoints={'placement': endpoint})

    def test_get_503_once_retried_passes(self):
        cloud = self._flaky_cloud(failures=1)
        self.assertEqual({'calls': 2}, cloud.get('placement', '/'))

    def test_keystone_unreachable_names_keystone_fails(self):
        url = closed_url()
        session = ks_session.Session(auth=v3.Password(
            auth_url=url, username='admin', password='secret',
            project_name='admin', user_domain_id='default',
            project_domain_id='default'))
        error = self.assertRaises(
            sev_cloud.CloudError,
            sev_cloud.from_session(session).get, 'placement', '/')
        self.assertTrue(str(error).startswith(
            'cannot reach Keystone at %s: ' % url), error)
