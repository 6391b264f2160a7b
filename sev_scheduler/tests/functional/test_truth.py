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

"""A request is judged by what will run, not by what Nova's objects say.

Nova reads a malformed image ``hw_mem_encryption`` as False before the
scheduler; an offloaded server is unshelved from its snapshot's current
properties, not the RequestSpec's stored image.
"""

import fixtures

from nova.tests.functional.api import client

from sev_scheduler import compat
from sev_scheduler.tests.functional import base

MALFORMED = ('maybe', 'yes please', '\uff34\uff32\uff35\uff25', 'enabled')


def action_details(test, server, name):
    """The details of the events of the server's last action ``name``."""
    action = [action for action in
              test.admin_api.get_instance_actions(server['id'])
              if action['action'] == name][0]
    events = test.admin_api.get_instance_action_details(
        server['id'], action['request_id'])['events']
    return ' '.join(event.get('details') or '' for event in events)


class MalformedImageValueTestCase(base.SEVTestBase):
    """An image switch Nova reads as False is refused as written."""

    def setUp(self):
        super().setUp()
        self.allow_cold_migration()
        self.start_host('sev1', slots=2)
        self.start_host('plain1')
        self.start_host('plain2')

    def test_malformed_image_value_refused(self):
        # Nova alone boots each of them unencrypted, on any host.
        for value in MALFORMED:
            self.create_image(value, dict(base.SEV_IMAGE,
                                          hw_mem_encryption=value))
            server = self.boot(image=value, expected_state='ERROR')
            self.assert_refused(
                server, "Invalid memory encryption request: the image's "
                "hw_mem_encryption property is %r, which is neither true "
                "nor false" % value)

    def test_clear_false_image_value_boots(self):
        self.create_image('sev_off', dict(base.SEV_IMAGE,
                                          hw_mem_encryption='false'))
        server = self.boot(image='sev_off')
        self.assertEqual('ACTIVE', server['status'])

    def test_move_of_malformed_server_refused(self):
        # A server created before sev-scheduler refused the value runs
        # unencrypted; moving it is judged by its image as written.
        self.create_image('maybe', dict(base.SEV_IMAGE,
                                        hw_mem_encryption='maybe'))
        with fixtures.MockPatch(
                'sev_scheduler.request._malformed_image_value',
                return_value=None):
            server = self.boot(image='maybe')
        host = self.host_of(server)
        # The conductor's NoValidHost reaches the API as an error, and the
        # action's events without the reason: the scheduler's log has it.
        self.assertRaises(
            client.OpenStackApiException, self.admin_api.post_server_action,
            server['id'], {'migrate': None})
        self.assertIn('No valid host was found',
                      action_details(self, server, 'migrate'))
        self.assertIn("Refusing instance %s (memory encryption model "
                      "unknown): Invalid memory encryption request: the "
                      "image's hw_mem_encryption property is 'maybe'"
                      % server['id'], self.stdlog.logger.output)
        self.assertEqual(host, self.host_of(server))


class UnshelveTestCase(base.SEVTestBase):
    """An offloaded server is judged by its shelved snapshot as it is now."""

    def setUp(self):
        super().setUp()
        # Offload at once: unshelving goes through the scheduler.
        self.flags(shelved_offload_time=0)
        self.start_host('sev1', slots=2)
        self.start_host('plain1')

    def _shelve_and_edit(self, server, properties):
        """Shelve the server, then edit its snapshot as its owner can."""
        self._shelve_server(server)
        name = '%s-shelved' % server['name']
        snapshot = [image for image in self.glance.images.values()
                    if image['name'] == name][0]
        self.glance.update(None, snapshot['id'],
                           {'properties': dict(properties)})
        return snapshot['id']

    def _unshelve_refused(self, server):
        """Unshelve; the server stays offloaded. Return the refusal."""
        self.api.post_server_action(server['id'], {'unshelve': None})
        self._wait_for_server_parameter(
            server, {'status': 'SHELVED_OFFLOADED',
                     'OS-EXT-STS:task_state': None})
        return action_details(self, server, 'unshelve')

    def test_snapshot_turning_encryption_on_refused(self):
        # Nova alone would spawn an encrypted guest that holds no slot.
        server = self.boot(image='plain', host='sev1')
        snapshot = self._shelve_and_edit(server, base.SEV_IMAGE)
        self.assertIn(
            "shelved image %s now asks for memory encryption (amd-sev) but "
            "the server was shelved with no memory encryption" % snapshot,
            self._unshelve_refused(server))
        self.assertEqual(0, self.slots_used('sev1'))

    def test_snapshot_turning_encryption_off_refused(self):
        # Nova alone would spawn an unencrypted guest holding a slot.
        server = self.boot(image='sev')
        self._shelve_and_edit(server, {'hw_mem_encryption': 'false'})
        self.assertIn("now asks for no memory encryption but the server "
                      "was shelved with memory encryption (amd-sev)",
                      self._unshelve_refused(server))

    def test_snapshot_malformed_value_refused(self):
        server = self.boot(image='sev')
        self._shelve_and_edit(server, {'hw_mem_encryption': 'maybe'})
        self.assertIn("hw_mem_encryption property is 'maybe'",
                      self._unshelve_refused(server))

    def test_snapshot_ide_cdrom_refused(self):
        server = self.boot(image='sev')
        self._shelve_and_edit(server, {'hw_cdrom_bus': 'ide'})
        self.assertIn("hw_cdrom_bus=ide", self._unshelve_refused(server))

    def test_snapshot_unchanged_unshelves_with_slot(self):
        server = self.boot(image='sev')
        self._shelve_and_edit(server, {})
        server = self._unshelve_server(server)
        self.assert_holds_one_slot(server, 'sev1')


class MalformedSwitchBesideTdxTestCase(base.SEVTestBase):
    """A malformed switch is refused whatever the model."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)

    @base.needs_model(compat.INTEL_TDX)
    def test_malformed_flavor_value_beside_tdx_refused(self):
        self.create_flavor('tdx_maybe', {
            'hw:mem_encryption': 'maybe',
            'hw:mem_encryption_model': compat.INTEL_TDX})
        server = self.boot(flavor='tdx_maybe', expected_state='ERROR')
        self.assert_refused(server, "hw:mem_encryption extra spec is "
                            "'maybe', which is neither true nor false")
