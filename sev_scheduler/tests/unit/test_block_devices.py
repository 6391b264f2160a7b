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

from oslo_utils.fixture import uuidsentinel as uuids

from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test

from sev_scheduler import block_devices
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories


class BlockDevicesTestCase(test.TestCase):
    """Where the filter finds a request's block device mappings."""

    def setUp(self):
        super().setUp()
        self.context = nova_context.get_admin_context()
        self.cell = self.cell_mappings[test.CELL1_NAME]

    def _create_in_cell(self, disk_bus):
        with nova_context.target_cell(self.context, self.cell) as cctxt:
            objects.Instance(context=cctxt, uuid=uuids.instance,
                             project_id='project', user_id='user').create()
            factories.volume_bdm(cctxt, uuids.instance, disk_bus).create()
        objects.InstanceMapping(
            context=self.context, instance_uuid=uuids.instance,
            cell_mapping=self.cell, project_id='project').create()

    def _buses(self, spec_obj):
        mappings = block_devices.get_for_request(self.context, spec_obj)
        return [bdm.disk_bus for bdm in mappings]

    def test_new_boot_reads_build_request(self):
        factories.build_request(self.context, bdms=[
            factories.volume_bdm(self.context, uuids.instance, 'ide')])
        self.assertEqual(['ide'], self._buses(factories.spec()))

    def test_move_reads_instance_cell(self):
        self._create_in_cell('ide')
        spec_obj = factories.spec(requested_destination=objects.Destination(
            cell=self.cell))
        self.assertEqual(['ide'], self._buses(spec_obj))

    def test_cross_cell_resize_finds_cell_through_mapping(self):
        self._create_in_cell('scsi')
        spec_obj = factories.spec(
            requested_destination=objects.Destination(cell=None))
        self.assertEqual(['scsi'], self._buses(spec_obj))

    def test_unknown_instance_raises(self):
        self.assertRaises(exception.InstanceMappingNotFound,
                          block_devices.get_for_request, self.context,
                          factories.spec())

    def test_new_boot_keeps_build_request_root_device_name(self):
        factories.build_request(self.context, root_device_name='/dev/hda')
        request = sev_request.Request(factories.encrypted_spec())
        self.assertEqual((True, '/dev/hda'),
                         (request.is_new_server, request.root_device_name))

    def test_move_is_no_new_server(self):
        self._create_in_cell(None)
        request = sev_request.Request(factories.encrypted_spec(
            requested_destination=objects.Destination(cell=self.cell)))
        self.assertEqual((False, None), (request.is_new_server,
                                         request.root_device_name))

    def test_cross_cell_resize_is_no_new_server(self):
        self._create_in_cell(None)
        request = sev_request.Request(factories.encrypted_spec(
            requested_destination=objects.Destination(cell=None)))
        self.assertFalse(request.is_new_server)

    def test_request_looks_up_once(self):
        build_request = factories.build_request(self.context, bdms=[
            factories.volume_bdm(self.context, uuids.instance, 'ide')])
        request = sev_request.Request(factories.encrypted_spec())
        first = request.block_device_mappings
        build_request.destroy()
        self.assertIs(first, request.block_device_mappings)
