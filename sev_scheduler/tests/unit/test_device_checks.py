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

"""The device checks on real Nova objects: Cyborg groups, resource classes."""

import os_resource_classes as orc
from oslo_utils.fixture import uuidsentinel as uuids

from nova.accelerator import cyborg
from nova import objects
from nova import test

from sev_scheduler.checks import accelerators
from sev_scheduler.checks import mdev_vgpu
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories

FPGA_GROUP = {'resources:FPGA': '1', 'trait:CUSTOM_FAKE_DEVICE': 'required'}


def _request(extra_specs=None, groups=()):
    spec_obj = factories.encrypted_spec(
        extra_specs=extra_specs or {}, requested_resources=list(groups))
    return sev_request.Request(
        spec_obj, block_device_mappings=objects.BlockDeviceMappingList(),
        raw_image_properties={})


def _device_profile_group(index=0, port=None):
    """A device profile group as Nova names it, for the flavor or a port."""
    return objects.RequestGroup(
        requester_id=cyborg.get_device_profile_group_requester_id(
            index, port),
        resources={orc.FPGA: 1})


class AcceleratorsCheckTestCase(test.NoDBTestCase):

    check = accelerators.AcceleratorsCheck()

    def _do_test(self, expected, extra_specs=None, groups=()):
        self.assertEqual(expected, self.check.conflicts(
            _request(extra_specs, groups)))

    def test_no_accelerator_passes(self):
        self._do_test([])

    def test_port_bandwidth_group_passes(self):
        # A QoS port's group, named by the port alone: no device.
        self._do_test([], groups=[objects.RequestGroup(
            requester_id=uuids.port,
            resources={orc.NET_BW_EGR_KILOBIT_PER_SEC: 1000})])

    def test_flavor_device_profile_fails(self):
        self._do_test(
            ["Cyborg accelerator: flavor device profile 'fpga-dp'"],
            extra_specs={'accel:device_profile': 'fpga-dp'},
            groups=[_device_profile_group(0), _device_profile_group(1)])

    def test_flavor_key_without_groups_fails(self):
        # Moves do not always carry the groups: the key alone counts.
        self._do_test(
            ["Cyborg accelerator: flavor device profile 'fpga-dp'"],
            extra_specs={'accel:device_profile': 'fpga-dp'})

    def test_empty_flavor_key_passes(self):
        # Nova asks Cyborg for nothing then.
        self._do_test([], extra_specs={'accel:device_profile': ''})

    def test_accelerator_ports_fail(self):
        port = '7970ec1f-7ce0-4293-a2a3-92cbce8048b4'
        self._do_test(
            ["Cyborg accelerator: port %s" % port,
             "Cyborg accelerator: port %s" % uuids.port2],
            groups=[_device_profile_group(0, port),
                    _device_profile_group(1, port),
                    _device_profile_group(0, uuids.port2)])

    def test_flavor_group_without_key_fails(self):
        self._do_test(
            ["Cyborg accelerator: device profile group device_profile_0"],
            groups=[_device_profile_group(0)])


class ResourceClassesTestCase(test.NoDBTestCase):
    """The mdev_vgpu check on every class a flavor can request."""

    check = mdev_vgpu.MdevVgpuCheck()

    def _do_test(self, extra_specs, expected):
        self.assertEqual(expected, self.check.conflicts(
            _request(extra_specs)))

    def test_standard_classes_that_are_no_device_pass(self):
        for resource_class in mdev_vgpu.NOT_DEVICES:
            self._do_test({'resources:%s' % resource_class: '1',
                           'resources1:%s' % resource_class: '1'}, [])

    def test_no_device_class_is_unknown_to_os_resource_classes(self):
        known = set(orc.STANDARDS)
        self.assertLessEqual(mdev_vgpu.NOT_DEVICES, known)
        self.assertLessEqual(mdev_vgpu.DEVICE_CLASSES, known)

    def test_device_classes_fail(self):
        for resource_class in (orc.PGPU, orc.FPGA, orc.PCI_DEVICE,
                               orc.SRIOV_NET_VF, orc.VGPU_DISPLAY_HEAD):
            self._do_test(
                {'resources2:%s' % resource_class: '1'},
                ["device %s: flavor extra spec resources2:%s=1"
                 % (resource_class, resource_class)])

    def test_device_class_declared_safe_fails(self):
        self.flags(safe_resource_classes=[orc.FPGA, orc.VGPU],
                   group='sev_scheduler')
        self._do_test({'resources:FPGA': '1', 'resources:VGPU': '1'},
                      ["device FPGA: flavor extra spec resources:FPGA=1",
                       "mdev vGPU: flavor extra spec resources:VGPU=1"])

    def test_custom_class_fails(self):
        self._do_test(
            {'resources:CUSTOM_NVIDIA_11': '1',
             'resources_gpu:CUSTOM_NVIDIA_11': '2'},
            ["mdev or device: "
             "resources:CUSTOM_NVIDIA_11=1 (see safe_resource_classes)",
             "mdev or device: "
             "resources_gpu:CUSTOM_NVIDIA_11=2 (see safe_resource_classes)"])

    def test_custom_class_declared_safe_passes(self):
        self.flags(safe_resource_classes=['CUSTOM_LICENSE'],
                   group='sev_scheduler')
        self._do_test({'resources:CUSTOM_LICENSE': '1'}, [])
        self.assertEqual(1, len(self.check.conflicts(_request(
            {'resources:CUSTOM_NVIDIA_11': '1'}))))

    def test_zero_custom_class_passes(self):
        self._do_test({'resources:CUSTOM_NVIDIA_11': '0'}, [])

    def test_several_conflicts_fit_in_a_fault(self):
        # Nova cuts the fault at 255 characters: three device phrases and
        # the sentence around them still fit.
        phrases = self.check.conflicts(_request({
            'resources1:CUSTOM_NVIDIA_11': '1', 'resources:VGPU': '1'}))
        phrases += accelerators.AcceleratorsCheck().conflicts(_request(
            {'accel:device_profile': 'fpga-dp'}))
        fault = ("No valid host was found. Memory encryption (amd-sev) "
                 "cannot be used with " + '; '.join(phrases))
        self.assertLessEqual(len(fault), 255, fault)
