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

"""Confidential devices: the PCI aliases amd-sev-snp guests may request.

The PCI requests are Nova's own, made from the flavor as its API makes
them, with the ``[pci] alias`` of each test.
"""

import json

from oslo_utils.fixture import uuidsentinel as uuids

from nova import objects
from nova.pci import request as pci_request
from nova import test

from sev_scheduler.checks import pci_passthrough
from sev_scheduler import compat
from sev_scheduler import confidential
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import releases

CC_TRAIT = 'CUSTOM_NVIDIA_CC_ON'
# Nova turns the device_spec and alias tag "nvidia_cc_on" into CC_TRAIT.
CC_GPU = {'name': 'cc-gpu', 'vendor_id': '10de', 'product_id': '2331',
          'traits': 'nvidia_cc_on'}
PLAIN_GPU = {'name': 'gpu', 'vendor_id': '10de', 'product_id': '2331'}
NIC = {'name': 'nic', 'vendor_id': '8086', 'product_id': '1572'}
ALLOWED = "[sev_scheduler] snp_pci_aliases"


class ConfidentialDeviceTestCase(test.NoDBTestCase):

    check = pci_passthrough.PciPassthroughCheck()

    def setUp(self):
        super().setUp()
        self.set_aliases(CC_GPU, PLAIN_GPU, NIC)
        self.flags(pci_in_placement=True, group='filter_scheduler')
        self.flags(snp_pci_aliases=['cc-gpu'],
                   confidential_device_traits=[CC_TRAIT],
                   group='sev_scheduler')

    def set_aliases(self, *aliases):
        # Nova's own test flags() forgets the aliases Nova read before.
        self.flags(alias=[json.dumps(alias) for alias in aliases],
                   group='pci')

    def conflicts(self, alias_value, model=compat.AMD_SEV_SNP,
                  pci_requests=None, **kwargs):
        extra_specs = {'pci_passthrough:alias': alias_value}
        if pci_requests is None:
            # As Nova's API makes them from the flavor.
            pci_requests = pci_request.get_pci_requests_from_flavor(
                factories.flavor(extra_specs)).requests
        spec_obj = factories.encrypted_spec(
            model=model, extra_specs=extra_specs, pci_requests=pci_requests,
            **kwargs)
        return self.check.conflicts(sev_request.Request(
            spec_obj, block_device_mappings=objects.BlockDeviceMappingList(),
            raw_image_properties={}))


@releases.requires_model(compat.AMD_SEV_SNP)
class SnpPciAliasTestCase(ConfidentialDeviceTestCase):

    def test_snp_allowed_alias_passes(self):
        self.assertEqual([], self.conflicts('cc-gpu:2'))

    def test_snp_allowed_alias_standard_trait_passes(self):
        self.set_aliases(dict(CC_GPU, traits='HW_GPU_API_DIRECTX_V12'))
        self.flags(confidential_device_traits=['HW_GPU_API_DIRECTX_V12'],
                   group='sev_scheduler')
        self.assertEqual([], self.conflicts('cc-gpu:1'))

    def test_snp_allowed_alias_without_pci_request_passes(self):
        # check-request judges a flavor alone.
        self.assertEqual([], self.conflicts('cc-gpu:1', pci_requests=[]))

    def test_snp_alias_not_listed_fails(self):
        self.assertEqual(
            ["PCI passthrough: flavor alias 'gpu' (not in %s)" % ALLOWED],
            self.conflicts('cc-gpu:1,gpu:1'))

    def test_sev_es_allowed_alias_fails(self):
        self.assertEqual(
            ["PCI passthrough: flavor alias 'cc-gpu' (use amd-sev-snp and "
             "an alias listed in %s)" % ALLOWED],
            self.conflicts('cc-gpu:1', model=compat.AMD_SEV_ES))

    def test_sev_allowed_alias_fails(self):
        self.assertEqual(
            ["PCI passthrough: flavor alias 'cc-gpu' (use amd-sev-snp and "
             "an alias listed in %s)" % ALLOWED],
            self.conflicts('cc-gpu:1', model=compat.AMD_SEV))

    def test_snp_sriov_port_fails(self):
        port = objects.InstancePCIRequest(
            count=1, spec=[{}], alias_name=None, requester_id=uuids.port)
        gpus = pci_request.get_pci_requests_from_flavor(
            factories.flavor({'pci_passthrough:alias': 'cc-gpu:1'}))
        self.assertEqual(
            ["PCI passthrough: SR-IOV port %s (use a flavor alias of %s "
             "with amd-sev-snp)" % (uuids.port, ALLOWED)],
            self.conflicts('cc-gpu:1',
                           pci_requests=[port] + gpus.requests))

    def test_snp_alias_requiring_no_cc_trait_fails(self):
        self.flags(snp_pci_aliases=['gpu'], group='sev_scheduler')
        self.assertEqual(
            ["PCI passthrough: flavor alias 'gpu' is not safe: its [pci] "
             "alias requires no trait of [sev_scheduler] "
             "confidential_device_traits"],
            self.conflicts('gpu:1'))

    def test_snp_alias_other_trait_fails(self):
        self.flags(confidential_device_traits=['CUSTOM_OTHER'],
                   group='sev_scheduler')
        self.assertIn("'cc-gpu' is not safe: its [pci] alias requires no "
                      "trait", self.conflicts('cc-gpu:1')[0])

    def test_snp_pci_in_placement_off_fails(self):
        self.flags(pci_in_placement=False, group='filter_scheduler')
        self.assertEqual(
            ["PCI passthrough: flavor alias 'cc-gpu' is not safe: "
             "[filter_scheduler] pci_in_placement is off"],
            self.conflicts('cc-gpu:1'))

    def test_snp_alias_undefined_fails(self):
        self.flags(snp_pci_aliases=['cc-gpu', 'cc-nic'],
                   group='sev_scheduler')
        self.assertEqual(
            ["PCI passthrough: flavor alias 'cc-nic' is not safe: not in "
             "[pci] alias"],
            self.conflicts('cc-nic:1', pci_requests=[]))

    def test_snp_alias_unreadable_fails(self):
        self.flags(alias=['{"name": "cc-gpu", "colour": "green"}'],
                   group='pci')
        self.assertEqual(
            ["PCI passthrough: flavor alias 'cc-gpu' is not safe: Nova "
             "cannot read [pci] alias"],
            self.conflicts('cc-gpu:1', pci_requests=[]))

    def test_snp_request_from_older_alias_fails(self):
        # The server's request was made while the alias had no trait.
        self.set_aliases(dict(CC_GPU, traits=''))
        pci_requests = pci_request.get_pci_requests_from_flavor(
            factories.flavor({'pci_passthrough:alias': 'cc-gpu:1'})).requests
        self.set_aliases(CC_GPU)
        self.assertEqual(
            ["PCI passthrough: flavor alias 'cc-gpu' is not safe: the "
             "server's PCI request requires no trait of [sev_scheduler] "
             "confidential_device_traits"],
            self.conflicts('cc-gpu:1', pci_requests=pci_requests))

    def test_snp_options_unset_fails_as_before(self):
        self.flags(snp_pci_aliases=[], confidential_device_traits=[],
                   group='sev_scheduler')
        self.assertEqual(["PCI passthrough: flavor alias 'cc-gpu'"],
                         self.conflicts('cc-gpu:1'))

    def test_snp_refusal_fits_fault_passes(self):
        # Nova keeps 255 bytes of the fault: the kind of conflict first.
        from sev_scheduler import verdict
        request = sev_request.Request(factories.encrypted_spec(
            model=compat.AMD_SEV_SNP,
            extra_specs={'pci_passthrough:alias': 'gpu:1,nic:1'}),
            block_device_mappings=objects.BlockDeviceMappingList(),
            raw_image_properties={})
        reason = verdict.conflict_reason(request, [self.check])
        self.assertTrue(verdict._fits(reason), reason)
        self.assertIn('PCI passthrough', reason[:120])


@releases.lacks_model(compat.AMD_SEV_SNP)
class NoSnpTestCase(ConfidentialDeviceTestCase):

    def test_alias_release_without_snp_fails_as_before(self):
        self.assertFalse(confidential.SUPPORTED)
        self.assertEqual([], confidential.allowed_aliases())
        # The same refusal as with the options unset.
        self.assertEqual(["PCI passthrough: flavor alias 'cc-gpu'"],
                         self.conflicts('cc-gpu:1', model=None))
