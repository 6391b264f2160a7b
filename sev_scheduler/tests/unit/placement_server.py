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

"""A real Placement service on loopback, spoken to over HTTP."""

import subprocess
import sys
from wsgiref import simple_server

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from placement import deploy
from placement.tests.functional.fixtures import placement as placement_fixture


class _QuietHandler(simple_server.WSGIRequestHandler):

    def log_message(self, *args):
        pass


def serve():
    """Serve Placement until killed; print the port first.

    Its own process: the tests run under Nova's eventlet monkey patching,
    under which a server thread and a blocking client deadlock.
    """
    placement = placement_fixture.PlacementFixture(use_intercept=False)
    placement.setUp()
    server = simple_server.make_server(
        '127.0.0.1', 0, deploy.loadapp(placement.conf_fixture.conf),
        handler_class=_QuietHandler)
    print(server.server_port, flush=True)
    server.serve_forever()


class PlacementServer(fixtures.Fixture):
    """openstack-placement with an in-memory database, on 127.0.0.1.

    Authentication is Placement's noauth2: the token "admin" is an admin.
    ``endpoint`` is its URL; ``client`` a keystoneauth Adapter to seed it.
    """

    def _setUp(self):
        process = subprocess.Popen(
            [sys.executable, '-m', __name__], stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(process.wait)
        self.addCleanup(process.kill)
        port = process.stdout.readline().strip()
        if not port.isdigit():
            raise RuntimeError('Placement did not start')
        self.endpoint = 'http://127.0.0.1:%s/' % port
        self.client = ks_adapter.Adapter(
            ks_session.Session(auth=token_endpoint.Token(self.endpoint,
                                                         'admin')),
            service_type='placement', default_microversion='1.39',
            raise_exc=True)

    def provider(self, name, inventory, traits=(), parent=None):
        """Create a provider with inventory {class: total} and traits."""
        body = {'name': name}
        if parent:
            body['parent_provider_uuid'] = parent
        uuid = self.client.post('/resource_providers', json=body).json()[
            'uuid']
        self.client.put('/resource_providers/%s/inventories' % uuid, json={
            'resource_provider_generation': 0,
            'inventories': {rc: {'total': total}
                            for rc, total in inventory.items()}})
        if traits:
            for trait in traits:
                if trait.startswith('CUSTOM_'):
                    self.client.put('/traits/%s' % trait)
            self.client.put('/resource_providers/%s/traits' % uuid, json={
                'resource_provider_generation': 1, 'traits': list(traits)})
        return uuid

    def allocate(self, consumer, allocations):
        """Allocate {provider uuid: {class: amount}} to a consumer."""
        self.client.put('/allocations/%s' % consumer, json={
            'allocations': {rp: {'resources': resources}
                            for rp, resources in allocations.items()},
            'project_id': 'project', 'user_id': 'user',
            'consumer_generation': None, 'consumer_type': 'INSTANCE'})


if __name__ == '__main__':
    serve()
