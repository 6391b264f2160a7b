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

"""A server as ``explain`` reads it from the APIs, where the harness has no
service to read: Cinder's volume image metadata.
"""

from oslo_config import fixture as config_fixture
from oslo_utils.fixture import uuidsentinel as uuids
import testtools

from sev_scheduler import compat
from sev_scheduler import conf
from sev_scheduler.operators import explain
from sev_scheduler.operators import lookup
from sev_scheduler.tests.unit import canned_cloud

#: A volume image's metadata as Cinder shows it: the image's properties
#: as written, and a few of its attributes.
SEV_VOLUME_IMAGE = {'image_id': uuids.image, 'image_name': 'sev',
                    'disk_format': 'qcow2', 'hw_firmware_type': 'uefi',
                    'hw_machine_type': 'q35', 'hw_mem_encryption': 'true'}


class BootFromVolumeTestCase(testtools.TestCase):
    """A server booted from a volume made from an SEV image."""

    def setUp(self):
        super().setUp()
        self.useFixture(config_fixture.Config(conf.CONF))
        server = {'id': uuids.bfv, 'name': 'vm', 'status': 'ERROR',
                  'image': '',
                  'flavor': {'original_name': 'small', 'vcpus': 1,
                             'ram': 512, 'disk': 0, 'extra_specs': {}},
                  'OS-EXT-SRV-ATTR:root_device_name': '/dev/vda'}
        self.bodies = {
            ('compute', '/servers?all_tenants=1&uuid=%s' % uuids.bfv):
                {'servers': [server]},
            ('compute', '/servers/%s' % uuids.bfv): {'server': server},
            ('compute', '/servers/%s/os-volume_attachments' % uuids.bfv):
                {'volumeAttachments': [{'volumeId': uuids.root_volume,
                                        'device': '/dev/vda'}]},
            ('compute', '/servers/%s/os-interface' % uuids.bfv):
                {'interfaceAttachments': []},
            ('volume', '/volumes/%s' % uuids.root_volume):
                {'volume': {'id': uuids.root_volume,
                            'volume_image_metadata': SEV_VOLUME_IMAGE}},
            ('compute', '/os-hypervisors/detail'): {'hypervisors': []},
            ('compute', '/os-aggregates'): {'aggregates': []},
        }
        self.bodies.update({
            ('placement', '/resource_providers?required=%s' % trait):
                {'resource_providers': []}
            for trait in compat.KNOWN_MODEL_TRAITS.values()})

    def _explain(self):
        cloud = canned_cloud.CannedCloud(self.bodies)
        return explain.explain(cloud, lookup.for_server(cloud, uuids.bfv),
                               'no --nova-conf')

    def test_volume_image_asks_for_encryption_fails(self):
        rows = dict(self._explain().rows)
        self.assertEqual(('yes', 'amd-sev'),
                         (rows['Encrypted'], rows['Model']))

    def test_boot_volume_at_root_device_not_first_attached_passes(self):
        # Audit and explain take the volume at the root device name.
        attachments = [
            {'volumeId': uuids.data_volume, 'device': '/dev/vdb'},
            {'volumeId': uuids.root_volume, 'device': '/dev/vda'}]
        self.bodies[('compute', '/servers/%s/os-volume_attachments'
                     % uuids.bfv)] = {'volumeAttachments': attachments}
        asked = lookup.for_server(canned_cloud.CannedCloud(self.bodies),
                                  uuids.bfv)
        self.assertEqual((uuids.root_volume, 'virtio'), asked.boot_volume)
        self.assertEqual([(uuids.data_volume, 'virtio')], asked.volumes)
        self.assertNotIn('which volume is the boot volume',
                         str(dict(asked.rows).get('Not seen')))

    def test_volume_image_cinder_unreachable_not_seen_passes(self):
        self.bodies[('volume', '/volumes/%s' % uuids.root_volume)] = (
            'cannot reach Cinder')
        rows = dict(self._explain().rows)
        self.assertEqual('no', rows['Encrypted'])
        self.assertIn("the boot volume's image properties (Cinder's "
                      "volume_image_metadata): cannot reach Cinder",
                      rows['Not seen'])
