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

"""``sev-scheduler audit`` finds what no scheduler saw (issue 8's paths).

Each scenario makes its finding the way an operator's cloud gets it: a
rebuild with the same image id after the image was edited, an admin's
forced host, an allocation written to Placement by hand. The command runs
in process with the harness's Cloud, through its own HTTP clients.
"""

import contextlib
import copy
import io
import json
import logging

import fixtures
from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import objects
from nova.tests import fixtures as nova_fixtures

from sev_scheduler.cmd import audit as audit_cmd
from sev_scheduler.cmd import main
from sev_scheduler import compat
from sev_scheduler.operators import audit
from sev_scheduler.tests.functional import base
from sev_scheduler.tests.functional import cloud

SEV = compat.AMD_SEV


class AuditTestBase(cloud.OperatorTestBase):
    """The command run in process, and the ways around the filter."""

    def run_audit(self, *argv):
        """(exit status, stdout, stderr) of ``sev-scheduler audit``."""
        test = self

        class InProcessAudit(audit_cmd.Audit):
            def cloud(self, parsed_args):
                test.audit_cloud = test.cloud()
                return test.audit_cloud

        stdout, stderr = io.StringIO(), io.StringIO()
        self.audit_log = self.useFixture(
            fixtures.FakeLogger(level=logging.DEBUG))
        with contextlib.redirect_stdout(stdout), \
                contextlib.redirect_stderr(stderr):
            app = main.SEVSchedulerApp()
            app.command_manager.add_command('audit', InProcessAudit)
            status = app.run(['audit'] + list(argv))
        self.assertNotIn('Traceback', stdout.getvalue() + stderr.getvalue())
        return status, stdout.getvalue(), stderr.getvalue()

    def findings(self, *argv):
        """(exit status, [(server, host, model, kind, problem)])."""
        status, out, err = self.run_audit('-f', 'json', *argv)
        return status, [(row['Server'], row['Host'], row['Model'],
                         row['Kind'], row['Problem'])
                        for row in json.loads(out)]

    def edit_image(self, name, **properties):
        """Change an image's properties in Glance, as its owner could."""
        image = self.glance.images[self.images[name]]
        image['properties'] = dict(image['properties'], **properties)
        for key, value in properties.items():
            if value is None:
                del image['properties'][key]

    def rebuild_same_image(self, server, image):
        self.api.post_server_action(server['id'], {'rebuild': {
            'imageRef': self.images[image]}})
        return self._wait_for_state_change(server, 'ACTIVE')

    def boot_forced(self, host, flavor='sev', image='sev', volume_bus=None):
        """Boot on a forced host, as an admin: no filter runs."""
        body = self._build_server(
            image_uuid=self.images[image], flavor_id=self.flavors[flavor],
            networks='none', az='nova:%s' % host)
        if volume_bus:
            body['block_device_mapping_v2'] = [
                {'boot_index': 0, 'uuid': self.images[image],
                 'source_type': 'image', 'destination_type': 'local'},
                {'boot_index': -1, 'source_type': 'volume',
                 'uuid': nova_fixtures.CinderFixture.SWAP_OLD_VOL,
                 'destination_type': 'volume', 'disk_bus': volume_bus}]
        server = self.admin_api.post_server({'server': body})
        return self._wait_for_state_change(server, 'ACTIVE')


class AuditTestCase(AuditTestBase):

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)

    def test_clean_cloud_exit_0(self):
        self.boot()
        self.boot(image='sev')
        status, out, err = self.run_audit()
        # A clean table says so where a script does not read it.
        self.assertEqual((0, ''), (status, out.strip()), err)
        self.assertIn('no findings (2 servers, 1 slot checked)', err)

    def test_rebuild_same_image_edited_to_encrypt_no_slot(self):
        self.create_image('edited', {})
        server = self.boot(image='edited')
        self.edit_image('edited', **base.SEV_IMAGE)
        self.rebuild_same_image(server, 'edited')
        self.assertEqual(0, self.slots_used('sev1'))
        self.assertEqual((1, [(
            server['id'], 'sev1', SEV, audit.NO_SLOT,
            'asks for memory encryption (amd-sev) but holds no amd-sev '
            'slot')]), self.findings())

    def test_rebuild_same_image_edited_to_plain_leaks_slot(self):
        self.create_image('edited', base.SEV_IMAGE)
        server = self.boot(image='edited')
        self.edit_image('edited', hw_mem_encryption=None)
        self.rebuild_same_image(server, 'edited')
        # Nova keeps the allocation.
        self.assertEqual(1, self.slots_used('sev1'))
        self.assertEqual((1, [(
            server['id'], 'sev1', SEV, audit.LEAKED_SLOT,
            'holds an amd-sev slot on sev1 but does not ask for memory '
            'encryption')]), self.findings())

    @base.needs_model(compat.AMD_SEV_ES)
    def test_sev_es_server_holding_its_slot_clean(self):
        self.start_host('es1', slots=1, es_slots=2)
        self.boot(image='sev_es')
        self.assertEqual((0, []), self.findings())

    @base.needs_model(compat.AMD_SEV_ES)
    def test_rebuild_same_image_edited_to_other_model_no_slot(self):
        self.create_image('edited', base.SEV_IMAGE)
        server = self.boot(image='edited')
        self.edit_image('edited', hw_mem_encryption_model='amd-sev-es')
        self.rebuild_same_image(server, 'edited')
        self.assertEqual((1, [(
            server['id'], 'sev1', compat.AMD_SEV_ES, audit.NO_SLOT,
            'asks for memory encryption (amd-sev-es) but holds no '
            'amd-sev-es slot (it holds amd-sev)')]), self.findings())

    def test_boot_from_volume_without_cinder_skipped(self):
        # The harness has no Cinder API: the boot volume's image
        # properties cannot be read, and the server is not judged.
        body = self._build_server(image_uuid='',
                                  flavor_id=self.flavors['plain'],
                                  networks='none')
        body['block_device_mapping_v2'] = [{
            'boot_index': 0, 'source_type': 'volume',
            'destination_type': 'volume',
            'uuid': nova_fixtures.CinderFixture.IMAGE_BACKED_VOL}]
        server = self._wait_for_state_change(
            self.api.post_server({'server': body}), 'ACTIVE')
        self.assertEqual((0, []), self.findings())
        self.assertIn(
            'Server %s cannot be judged: it boots from volume %s, whose '
            'image properties Cinder could not give: cannot reach Cinder'
            % (server['id'], nova_fixtures.CinderFixture.IMAGE_BACKED_VOL),
            self.audit_log.output)

    def test_forced_host_overcommits_memory(self):
        self.start_host('big', slots=2, ram_allocation_ratio=1.5)
        server = self.boot_forced('big')
        self.assertEqual((1, [(
            server['id'], 'big', SEV, audit.MEMORY_OVERCOMMIT,
            "its host's MEMORY_MB allocation ratio in Placement is 1.5")]),
            self.findings())

    def test_overcommit_allowed_in_nova_conf_clean(self):
        self.start_host('big', slots=2, ram_allocation_ratio=1.5)
        self.boot_forced('big')
        path = self.useFixture(fixtures.TempDir()).path + '/nova.conf'
        with open(path, 'w') as nova_conf:
            nova_conf.write('[sev_scheduler]\nallow_memory_overcommit = '
                            'true\n')
        self.assertEqual((0, []), self.findings('--nova-conf', path))

    def test_forced_host_ide_volume(self):
        server = self.boot_forced('sev1', volume_bus='ide')
        volume = nova_fixtures.CinderFixture.SWAP_OLD_VOL
        self.assertEqual((1, [(
            server['id'], 'sev1', SEV, audit.DEVICE,
            'Memory encryption (amd-sev) cannot be used with the IDE bus: '
            'volume %s (block device mapping disk_bus=ide)' % volume)]),
            self.findings())

    def test_slot_written_by_hand_orphan(self):
        provider = self.slot_provider('sev1')
        self.placement.put('/allocations/%s' % uuids.orphan, body={
            'allocations': {provider: {'resources': {base.SLOT: 1}}},
            'project_id': uuids.project, 'user_id': uuids.user,
            'consumer_generation': None}, version='1.28')
        self.assertEqual((1, [(
            uuids.orphan, 'sev1', SEV, audit.ORPHAN_SLOT,
            'amd-sev slot held by consumer %s, which is no server'
            % uuids.orphan)]), self.findings())

    def test_table_one_row_per_finding(self):
        self.create_image('edited', {})
        server = self.boot(image='edited')
        self.edit_image('edited', **base.SEV_IMAGE)
        self.rebuild_same_image(server, 'edited')
        status, out, err = self.run_audit('-f', 'value', '-c', 'Server',
                                          '-c', 'Kind', '-c', 'Action')
        self.assertEqual(1, status)
        self.assertEqual('%s %s %s\n' % (server['id'], audit.NO_SLOT,
                                         audit.ACTIONS[audit.NO_SLOT]), out)

    def test_calls_bounded(self):
        for _ in range(3):
            self.boot()
        self.boot(image='sev')
        self.assertEqual(0, self.run_audit('--page-size', '2')[0])
        # Two pages and an empty one, the encrypted server's interfaces
        # (it has none: Neutron is not asked); a listing per trait, one
        # slot provider; one image per distinct image; the encrypted
        # server's host memory.
        self.assertEqual({'compute': 4, 'image': 2,
                          'placement': len(compat.KNOWN_MODEL_TRAITS) + 2},
                         {service: count for service, count
                          in self.audit_cloud.calls.items() if count})


class MoveAuditTestCase(AuditTestBase):
    """A resize waiting for confirmation.

    Nova's migration holds the slot on the source host, which a revert
    needs back.
    """

    def setUp(self):
        super().setUp()
        self.allow_cold_migration()
        self.flags(allow_resize_to_same_host=False)
        self.start_host('sev1', slots=2)
        self.start_host('sev2', slots=2)
        self.create_flavor('sev_large', {'hw:mem_encryption': 'true'})
        self.server = self.boot(flavor='sev', image='sev', host='sev1')
        self.server = self._resize_server(self.server,
                                          self.flavors['sev_large'])
        self.migration = self._get_migration_uuid()

    def _get_migration_uuid(self):
        # The latest microversion shows a migration's UUID (since 2.59).
        migration, = self.admin_api.api_get(
            '/os-migrations?instance_uuid=%s' % self.server['id']
        ).body['migrations']
        return migration['uuid']

    def test_resize_waiting_for_confirmation_clean(self):
        # The migration's consumer holds the source host's slot.
        self.assertEqual(1, self.slots_used('sev1'))
        self.assertEqual((0, []), self.findings())

    def test_resize_confirmed_clean(self):
        self._confirm_resize(self.server)
        self.assertEqual(0, self.slots_used('sev1'))
        self.assertEqual((0, []), self.findings())

    def test_resize_reverted_clean(self):
        self._revert_resize(self.server)
        self.assertEqual('sev1', self.host_of(self.server))
        self.assertEqual((0, []), self.findings())

    def test_migration_ended_still_holding_slot_orphan(self):
        # A migration Nova no longer tracks (here: in error) whose
        # allocation was left behind: that one is leaked.
        migration = objects.Migration.get_by_uuid(
            nova_context.get_admin_context(), self.migration)
        migration.status = 'error'
        migration.save()
        self.assertEqual((1, [(
            self.migration, 'sev1', SEV, audit.ORPHAN_SLOT,
            'amd-sev slot held by consumer %s, which is no server'
            % self.migration)]), self.findings())


class PortAuditTestCase(AuditTestBase):
    """An SR-IOV port attached to a running encrypted server."""

    def setUp(self):
        super().setUp()
        self.start_host('sev1', slots=2)

    def _attach(self, server, template):
        # What interface attach leaves behind, as Neutron shows it; no
        # scheduler runs on that path.
        port = copy.deepcopy(template)
        port['device_id'] = server['id']
        self.neutron._ports[port['id']] = port
        return port['id']

    def test_sriov_port_on_encrypted_server_found(self):
        server = self.boot(image='sev')
        port = self._attach(server, self.neutron.sriov_port)
        status, findings = self.findings()
        self.assertEqual(1, status)
        self.assertEqual([(server['id'], 'sev1', SEV, audit.DEVICE)],
                         [finding[:4] for finding in findings])
        self.assertIn('SR-IOV port %s' % port, findings[0][4])

    def test_normal_port_on_encrypted_server_passes(self):
        server = self.boot(image='sev')
        self._attach(server, self.neutron.port_1)
        self.assertEqual((0, []), self.findings())


class DeviceAuditTestCase(AuditTestBase):
    """A PCI device on an encrypted server, through a forced host."""

    def setUp(self):
        self.configure_devices()
        super().setUp()
        self.start_host('gpu1', slots=2, pci_info=self.with_devices())
        self.create_flavor('sev_gpu', {'hw:mem_encryption': 'true',
                                       'pci_passthrough:alias': 'gpu:1'})

    def test_forced_host_pci_passthrough(self):
        server = self.boot_forced('gpu1', flavor='sev_gpu')
        self.assertEqual((1, [(
            server['id'], 'gpu1', SEV, audit.DEVICE,
            "Memory encryption (amd-sev) cannot be used with PCI "
            "passthrough: flavor alias 'gpu'")]), self.findings())

    def test_json_rows(self):
        server = self.boot_forced('gpu1', flavor='sev_gpu')
        status, out, err = self.run_audit('-f', 'json')
        self.assertEqual(1, status)
        self.assertEqual([{
            'Server': server['id'], 'Name': server['name'], 'Host': 'gpu1',
            'Model': SEV, 'Kind': audit.DEVICE,
            'Problem': "Memory encryption (amd-sev) cannot be used with PCI "
                       "passthrough: flavor alias 'gpu'",
            'Action': audit.ACTIONS[audit.DEVICE]}], json.loads(out))
