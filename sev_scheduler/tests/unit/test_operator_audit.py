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

"""operators.audit's own parts: paging, migrations, buses, nova.conf.

The scenarios against the real services are in
tests/functional/test_audit.py.
"""

import fixtures
from oslo_config import fixture as config_fixture
from oslo_utils.fixture import uuidsentinel as uuids
import testtools

from nova.pci import request as pci_request

from sev_scheduler import compat
from sev_scheduler import conf
from sev_scheduler.operators import audit
from sev_scheduler.tests.unit import canned_cloud
from sev_scheduler.tests.unit.cmd import base
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import releases

SLOT = 'MEM_ENCRYPTION_CONTEXT'
SEV_IMAGE = {'id': uuids.sev_image, 'name': 'sev', 'status': 'active',
             'disk_format': 'qcow2', 'min_ram': 0, 'visibility': 'public',
             'hw_firmware_type': 'uefi', 'hw_machine_type': 'q35',
             'hw_mem_encryption': 'true'}


def _server(uuid, image, extra_specs=None):
    return {'id': uuid, 'name': 'vm', 'image': {'id': image},
            'flavor': {'original_name': 'small',
                       'extra_specs': extra_specs or {}},
            'OS-EXT-SRV-ATTR:host': 'sev1',
            'OS-EXT-SRV-ATTR:hypervisor_hostname': 'sev1',
            'os-extended-volumes:volumes_attached': []}


def _page(marker, *servers, more=True):
    url = '/servers/detail?all_tenants=1&limit=2'
    if marker:
        url += '&marker=%s' % marker
    links = [{'rel': 'next', 'href': 'http://nova/next'}] if more else []
    return ('compute', url), {'servers': list(servers),
                              'servers_links': links}


class AuditRunTestCase(testtools.TestCase):
    """One cloud: a child slot provider and a root with the trait too."""

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        sev_trait = compat.KNOWN_MODEL_TRAITS[compat.AMD_SEV]
        bodies = {
            ('placement', '/resource_providers?required=%s' % trait): {
                'resource_providers': []}
            for trait in compat.KNOWN_MODEL_TRAITS.values()}
        bodies[('placement', '/resource_providers?required=%s'
                % sev_trait)] = {'resource_providers': [
                    {'uuid': uuids.root, 'root_provider_uuid': uuids.root,
                     'name': 'sev1'},
                    {'uuid': uuids.child, 'root_provider_uuid': uuids.root,
                     'name': 'sev1_amd_sev'}]}
        held = {'resources': {SLOT: 1}}
        bodies.update({
            ('placement', '/resource_providers/%s/allocations'
             % uuids.child): {'allocations': {
                 uuids.plain: held, uuids.migration: held,
                 uuids.orphan: held}},
            # Nova's migrations of the host: one waits for confirmation,
            # the other, ended, left its allocation behind.
            ('compute', '/os-hypervisors/detail?hypervisor_hostname_pattern='
             'sev1'): {'hypervisors': [
                 {'hypervisor_hostname': 'sev1', 'service': {
                     'host': 'compute-1'}},
                 {'hypervisor_hostname': 'sev10', 'service': {
                     'host': 'compute-10'}}]},
            ('compute', '/os-migrations?host=compute-1'): {'migrations': [
                {'uuid': uuids.migration, 'status': 'finished'},
                {'uuid': uuids.orphan, 'status': 'confirmed'}]},
            ('placement', '/resource_providers?name=sev1'): {
                'resource_providers': [{'uuid': uuids.root,
                                        'root_provider_uuid': uuids.root}]},
            ('placement', '/resource_providers/%s/inventories'
             % uuids.root): {'inventories': {'MEMORY_MB': {
                 'total': 16384, 'reserved': 512,
                 'allocation_ratio': 1.0}}},
            ('image', '/v2/images/%s' % uuids.plain_image): {
                'id': uuids.plain_image, 'name': 'plain'},
            ('image', '/v2/images/%s' % uuids.sev_image): SEV_IMAGE,
            ('compute', '/servers/%s/os-interface' % uuids.sev): {
                'interfaceAttachments': []},
        })
        bodies.update([
            _page(None, _server(uuids.plain, uuids.plain_image),
                  _server(uuids.sev, uuids.sev_image)),
            _page(uuids.sev, _server(uuids.gone, uuids.gone_image)),
            _page(uuids.gone, more=False),
        ])
        self.cloud = canned_cloud.CannedCloud(bodies)
        self.logger = self.useFixture(fixtures.FakeLogger())

    def test_findings_across_pages(self):
        findings = audit.run(self.cloud, page_size=2)
        self.assertEqual(sorted([
            (uuids.orphan, audit.ORPHAN_SLOT),
            (uuids.plain, audit.LEAKED_SLOT),
            (uuids.sev, audit.NO_SLOT)]),
            [(finding.server, finding.kind) for finding in findings])

    def test_memory_ratio_nan_found(self):
        # NaN is not above 1.0, and not known to be safe either.
        self.cloud.bodies[('placement', '/resource_providers/%s/inventories'
                           % uuids.root)]['inventories']['MEMORY_MB'][
            'allocation_ratio'] = float('nan')
        findings = audit.run(self.cloud, page_size=2)
        self.assertIn((uuids.sev, audit.MEMORY_OVERCOMMIT),
                      [(finding.server, finding.kind)
                       for finding in findings])

    def test_migration_holding_source_slot_not_a_finding(self):
        findings = audit.run(self.cloud, page_size=2)
        self.assertNotIn(uuids.migration,
                         [finding.server for finding in findings])
        # Asked of the service host of the node, once.
        self.assertEqual(1, self.cloud.urls.count(
            ('compute', '/os-migrations?host=compute-1')))

    def test_server_being_moved_action_waits(self):
        self.cloud.bodies[_page(None)[0]]['servers'][1].update(
            {'status': 'VERIFY_RESIZE'})
        no_slot, = [finding for finding in audit.run(self.cloud, page_size=2)
                    if finding.kind == audit.NO_SLOT]
        self.assertTrue(no_slot.action.startswith(
            'Nova is moving or rebuilding it (status VERIFY_RESIZE): '
            'confirm or revert a resize, or wait for the task to end, and '
            'audit again before acting; then: '), no_slot.action)

    def test_root_with_child_slot_providers_not_read(self):
        audit.run(self.cloud, page_size=2)
        self.assertNotIn(('placement', '/resource_providers/%s/allocations'
                          % uuids.root), self.cloud.urls)

    def test_server_whose_image_is_gone_skipped_with_warning(self):
        findings = audit.run(self.cloud, page_size=2)
        self.assertNotIn(uuids.gone,
                         [finding.server for finding in findings])
        self.assertIn('Server %s cannot be judged: its image %s is gone '
                      'from Glance' % (uuids.gone, uuids.gone_image),
                      self.logger.output)

    def _attach_port(self, vnic_type):
        # Attached after the boot: no scheduler saw it.
        self.cloud.bodies.update({
            ('compute', '/servers/%s/os-interface' % uuids.sev): {
                'interfaceAttachments': [{'port_id': uuids.port}]},
            ('network', '/v2.0/ports/%s' % uuids.port): {'port': {
                'id': uuids.port, 'binding:vnic_type': vnic_type}}})

    def test_encrypted_server_with_direct_port_found(self):
        self._attach_port('direct')
        devices = [finding for finding in audit.run(self.cloud, page_size=2)
                   if finding.kind == audit.DEVICE]
        self.assertEqual([uuids.sev], [finding.server for finding in devices])
        self.assertIn('SR-IOV port %s' % uuids.port, devices[0].problem)

    def test_encrypted_server_with_normal_port_passes(self):
        self._attach_port('normal')
        self.assertNotIn(audit.DEVICE, [
            finding.kind for finding in audit.run(self.cloud, page_size=2)])

    def test_plain_server_ports_not_read(self):
        audit.run(self.cloud, page_size=2)
        self.assertNotIn(('compute', '/servers/%s/os-interface'
                          % uuids.plain), self.cloud.urls)

    def _snp_server_with_gpu(self, gpu_traits):
        """An SNP server holding a GPU of the alias 'cc-gpu' in Placement."""
        factories.confidential_gpu_options(
            self.useFixture(config_fixture.Config(conf.CONF)).config)
        # Nova reads [pci] alias once per process.
        pci_request.get_alias_from_config.cache_clear()
        self.addCleanup(pci_request.get_alias_from_config.cache_clear)
        server = _server(uuids.sev, uuids.snp_image, {
            'hw:mem_encryption': 'true',
            'hw:mem_encryption_model': 'amd-sev-snp',
            'pci_passthrough:alias': 'cc-gpu:1'})
        self.cloud.bodies.update([
            _page(None, _server(uuids.plain, uuids.plain_image), server),
            _page(uuids.sev, more=False),
            (('image', '/v2/images/%s' % uuids.snp_image),
             dict(SEV_IMAGE, id=uuids.snp_image,
                  hw_firmware_stateless='true')),
            (('placement', '/allocations/%s' % uuids.sev), {'allocations': {
                uuids.root: {'resources': {'VCPU': 1}},
                uuids.gpu: {'resources': {'CUSTOM_PCI_10DE_2331': 1}}}}),
            (('placement', '/resource_providers/%s/traits' % uuids.gpu),
             {'traits': gpu_traits})])
        return [finding for finding in audit.run(self.cloud, page_size=2)
                if finding.kind == audit.DEVICE]

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_server_with_device_in_cc_mode_passes(self):
        self.assertEqual([], self._snp_server_with_gpu(
            ['CUSTOM_NVIDIA_CC_ON', 'COMPUTE_MANAGED_PCI_DEVICE']))

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_server_with_device_not_in_cc_mode_found(self):
        # Given before its alias required the trait, say.
        found, = self._snp_server_with_gpu(['COMPUTE_MANAGED_PCI_DEVICE'])
        self.assertEqual(uuids.sev, found.server)
        self.assertEqual(
            'holds CUSTOM_PCI_10DE_2331 from resource provider %s, which '
            'has no trait of [sev_scheduler] confidential_device_traits '
            '(CUSTOM_NVIDIA_CC_ON)' % uuids.gpu, found.problem)

    def test_orphan_action_names_consumer(self):
        orphan, = [finding for finding in audit.run(self.cloud, page_size=2)
                   if finding.kind == audit.ORPHAN_SLOT]
        self.assertEqual(
            'a leaked allocation (no server, no migration in progress), for '
            'instance of a deleted server: openstack resource provider '
            'allocation delete %s' % uuids.orphan, orphan.action)


class AuditCommandTestCase(base.CommandTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        # An endpoint nothing listens on.
        path = self.write_file('clouds.yaml', (
            'clouds:\n  down:\n    auth_type: admin_token\n    auth:\n'
            '      endpoint: http://127.0.0.1:9\n      token: admin\n'))
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_CLIENT_CONFIG_FILE', path))

    def test_unreachable_cloud_exit_255(self):
        status, out, err = self.run_command('audit', '--os-cloud', 'down')
        self.assertEqual((255, ''), (status, out))
        self.assertIn('Could not read the cloud: cannot reach Placement',
                      err)

    def test_unreadable_nova_conf_exit_255(self):
        path = self.write_file('nova.conf', '[sev_scheduler]\nchecks = ,\n'
                               'max_guests_per_host = -1\n')
        status, out, err = self.run_command('audit', '--os-cloud', 'down',
                                            '--nova-conf', path)
        self.assertEqual(255, status)
        self.assertIn('cannot read the scheduler options of %s' % path, err)


class BootFromVolumeTestCase(testtools.TestCase):
    """A server booted from a volume: its image is the volume's, in Cinder."""

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        server = dict(_server(uuids.bfv, None), image='',
                      **{'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda',
                         'os-extended-volumes:volumes_attached': [
                             {'id': uuids.root_volume}]})
        self.bodies = {
            ('placement', '/resource_providers?required=%s' % trait): {
                'resource_providers': []}
            for trait in compat.KNOWN_MODEL_TRAITS.values()}
        self.bodies.update([
            _page(None, server, more=False),
            (('compute', '/servers/%s/os-interface' % uuids.bfv),
             {'interfaceAttachments': []}),
            (('compute', '/servers/%s/os-volume_attachments' % uuids.bfv),
             {'volumeAttachments': [{'volumeId': uuids.root_volume,
                                     'device': '/dev/vda'}]}),
            (('placement', '/resource_providers?name=sev1'),
             {'resource_providers': []}),
        ])

    def _volume(self, **metadata):
        self.bodies[('volume', '/volumes/%s' % uuids.root_volume)] = {
            'volume': {'id': uuids.root_volume,
                       'volume_image_metadata': dict(
                           metadata, image_id=uuids.image, checksum='0',
                           disk_format='qcow2', min_ram='0')}}

    def test_volume_image_asks_for_encryption_no_slot(self):
        self._volume(**{key: value for key, value in SEV_IMAGE.items()
                        if key.startswith('hw_')})
        findings = audit.run(canned_cloud.CannedCloud(self.bodies),
                             page_size=2)
        self.assertEqual([(uuids.bfv, audit.NO_SLOT)],
                         [(f.server, f.kind) for f in findings])

    def test_plain_volume_image_clean(self):
        self._volume(hw_disk_bus='virtio')
        self.assertEqual([], audit.run(
            canned_cloud.CannedCloud(self.bodies), page_size=2))
