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

import itertools

import os_resource_classes as orc

from nova.scheduler import utils as scheduler_utils
from nova import test

from sev_scheduler import compat
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import releases


class ReadEncryptionTestCase(test.NoDBTestCase):

    def _read(self, extra_specs=None, **image_properties):
        return sev_request.read_encryption(
            factories.flavor(extra_specs), factories.image(**image_properties))

    def _do_test_model(self, extra_specs, image_properties, model):
        encryption = self._read(extra_specs, **image_properties)
        self.assertIsNone(encryption.error)
        self.assertEqual(model, encryption.model)
        self.assertEqual(model is not None, encryption.requested)

    def _do_test_invalid(self, extra_specs, image_properties, words):
        encryption = self._read(extra_specs, **image_properties)
        self.assertTrue(encryption.requested)
        self.assertIsNone(encryption.config)
        self.assertIn(words, encryption.error)

    def test_nothing_asked_not_requested(self):
        self._do_test_model({}, {}, None)

    def test_flavor_true_amd_sev(self):
        self._do_test_model({'hw:mem_encryption': 'True'}, factories.UEFI,
                            compat.AMD_SEV)

    def test_image_true_amd_sev(self):
        self._do_test_model({}, dict(factories.UEFI, hw_mem_encryption=True),
                            compat.AMD_SEV)

    def test_every_amd_model_from_flavor_and_image(self):
        for model, where in itertools.product(compat.AMD_MODELS,
                                              ('flavor', 'image')):
            props = dict(factories.SNP, hw_mem_encryption=True)
            extra_specs = {}
            if where == 'flavor':
                extra_specs['hw:mem_encryption_model'] = model
            else:
                props['hw_mem_encryption_model'] = model
            self._do_test_model(extra_specs, props, model)

    def test_explicit_false_not_requested(self):
        self._do_test_model({'hw:mem_encryption': 'no'}, {}, None)
        self._do_test_model({}, {'hw_mem_encryption': False}, None)

    def test_explicit_false_with_model_not_requested(self):
        self._do_test_model({'hw:mem_encryption': 'false',
                             'hw:mem_encryption_model': 'amd-sev-es'},
                            {}, None)

    @releases.requires_model(compat.INTEL_TDX)
    def test_intel_tdx_not_ours(self):
        self._do_test_model({'hw:mem_encryption': 'true',
                             'hw:mem_encryption_model': 'intel-tdx'},
                            factories.UEFI, None)

    @releases.requires_model(compat.INTEL_TDX)
    def test_malformed_boolean_beside_intel_tdx_invalid(self):
        # A malformed switch is refused whatever the model.
        self._do_test_invalid({'hw:mem_encryption': 'maybe',
                               'hw:mem_encryption_model': 'intel-tdx'},
                              factories.UEFI,
                              "'maybe', which is neither true nor false")

    def test_malformed_boolean_invalid(self):
        # Nova reads 'yes please' as False: we refuse it instead.
        self._do_test_invalid({'hw:mem_encryption': 'yes please'}, {},
                              "'yes please', which is neither true nor false")

    def test_unknown_model_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true',
                               'hw:mem_encryption_model': 'amd-sev-xx'},
                              factories.UEFI, "'amd-sev-xx', which is not")

    def test_unknown_model_with_false_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'false',
                               'hw:mem_encryption_model': 'bogus'},
                              {}, "'bogus', which is not")

    def test_empty_model_is_nova_default(self):
        self._do_test_model({'hw:mem_encryption': 'true',
                             'hw:mem_encryption_model': ''},
                            factories.UEFI,
                            compat.AMD_SEV)
        self._do_test_model({'hw:mem_encryption_model': ''}, {}, None)

    def test_flavor_model_without_switch_invalid(self):
        for model in compat.AMD_MODELS:
            self._do_test_invalid({'hw:mem_encryption_model': model},
                                  {}, "memory encryption is not enabled")

    @releases.requires_image_model
    def test_image_model_without_switch_invalid(self):
        for model in compat.AMD_MODELS:
            self._do_test_invalid({}, {'hw_mem_encryption_model': model},
                                  "memory encryption is not enabled")

    @releases.refuses_model(compat.AMD_SEV_SNP)
    def test_later_model_without_switch_invalid(self):
        # As on the release that knows the model: the switch is missing
        # (this Nova would start no encrypted guest at all).
        self._do_test_invalid({'hw:mem_encryption_model': 'amd-sev-snp'},
                              {}, "is set but memory encryption is not "
                              "enabled")

    def test_missing_uefi_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true'}, {},
                              "'hw_firmware_type' property set to 'uefi'")

    def test_flavor_image_conflict_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true'},
                              dict(factories.UEFI, hw_mem_encryption=False),
                              "conflicting with image")

    @releases.requires_model(compat.AMD_SEV_SNP)
    def test_snp_without_stateless_firmware_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true',
                               'hw:mem_encryption_model': 'amd-sev-snp'},
                              factories.UEFI, "requires stateless firmware")

    def test_wrong_machine_type_invalid(self):
        self._do_test_invalid({'hw:mem_encryption': 'true'},
                              dict(factories.UEFI, hw_machine_type='pc'),
                              "q35 type is required")

    # Models of a later release: refused, naming the release, unless
    # memory encryption is clearly off.

    def _do_test_later_release(self, model, release):
        self._do_test_invalid({'hw:mem_encryption': 'true',
                               'hw:mem_encryption_model': model},
                              factories.SNP, "memory encryption model '%s' "
                              "needs OpenStack %s" % (model, release))

    @releases.refuses_model(compat.AMD_SEV_ES)
    def test_amd_sev_es_before_its_release_invalid(self):
        self._do_test_later_release('amd-sev-es', '2025.2')

    @releases.refuses_model(compat.AMD_SEV_SNP)
    def test_amd_sev_snp_before_its_release_invalid(self):
        self._do_test_later_release('amd-sev-snp', '2026.2')

    @releases.refuses_model(compat.INTEL_TDX)
    def test_intel_tdx_before_its_release_invalid(self):
        self._do_test_later_release('intel-tdx', '2026.2')

    def test_any_model_switched_off_not_requested(self):
        for model in compat.ALL_AMD_MODELS + (compat.INTEL_TDX,):
            self._do_test_model({'hw:mem_encryption': 'false',
                                 'hw:mem_encryption_model': model}, {}, None)

    def test_image_switched_off_with_model_not_requested(self):
        # On 2025.1 the ImageMeta drops the model: still not a request.
        self._do_test_model({}, {'hw_mem_encryption': False,
                                 'hw_mem_encryption_model': 'amd-sev-es'},
                            None)


class NamesEncryptionTestCase(test.NoDBTestCase):

    def test_plain_request_names_nothing(self):
        self.assertFalse(sev_request.names_encryption(factories.spec()))

    def test_clear_no_names_nothing(self):
        self.assertFalse(sev_request.names_encryption(
            factories.spec({'hw:mem_encryption': 'off'})))

    def test_any_other_value_or_model_names_encryption(self):
        for extra_specs in ({'hw:mem_encryption': 'true'},
                            {'hw:mem_encryption': 'perhaps'},
                            {'hw:mem_encryption_model': 'amd-sev'}):
            self.assertTrue(sev_request.names_encryption(
                factories.spec(extra_specs)), extra_specs)
        self.assertTrue(sev_request.names_encryption(
            factories.spec(image_properties={'hw_mem_encryption': True})))

    def test_image_value_read_as_false_names_encryption(self):
        # Nova reads a malformed image value as False too.
        self.assertTrue(sev_request.names_encryption(
            factories.spec(image_properties={'hw_mem_encryption': 'maybe'})))

    def test_unreadable_spec_names_encryption(self):
        spec_obj = factories.spec()
        del spec_obj.flavor
        self.assertTrue(sev_request.names_encryption(spec_obj))


def _for_spec(spec_obj):
    # The image as written, which a scheduler would look up where Nova
    # drops the model (test_raw_image), given as check-request does.
    return sev_request.for_spec(spec_obj, raw_image_properties={})


class ForSpecTestCase(test.NoDBTestCase):

    def test_same_spec_read_once(self):
        spec_obj = factories.encrypted_spec()
        self.assertIs(_for_spec(spec_obj), _for_spec(spec_obj))

    def test_other_spec_read_anew(self):
        self.assertIsNot(_for_spec(factories.encrypted_spec()),
                         _for_spec(factories.encrypted_spec()))

    def test_rebuild_hint_read(self):
        self.assertTrue(_for_spec(
            factories.encrypted_spec(rebuild=True)).is_rebuild)
        self.assertFalse(_for_spec(factories.encrypted_spec()).is_rebuild)


class SlotInQueryTestCase(test.NoDBTestCase):
    """slot_in_query holds exactly when Nova's own query asks for a slot.

    SEVFilter then trusts every candidate to carry one: checked here
    against the ResourceRequest Nova builds from the same RequestSpec, the
    one it sends Placement, on the running release.
    """

    def _do_test_queried(self, spec_obj, enable_pinning_translate=True):
        request = sev_request.Request(spec_obj, block_device_mappings=[],
                                      raw_image_properties={})
        self.assertTrue(request.slot_in_query)
        query = scheduler_utils.ResourceRequest.from_request_spec(
            spec_obj, enable_pinning_translate=enable_pinning_translate)
        group = query.get_request_group(None)
        self.assertEqual(1, group.resources[orc.MEM_ENCRYPTION_CONTEXT])
        # Where Nova names the model's trait (2025.2 on), it is this one.
        self.assertLessEqual(
            set(group.required_traits) & set(compat.MODEL_TRAITS.values()),
            {request.encryption.config.trait})

    def test_every_model_flavor_and_image_queried(self):
        for model in compat.AMD_MODELS:
            self._do_test_queried(factories.encrypted_spec(model))
            self._do_test_queried(factories.spec(image_properties=dict(
                factories.SNP if model == compat.AMD_SEV_SNP
                else factories.UEFI, hw_mem_encryption=True,
                **({'hw_mem_encryption_model': model}
                   if compat.READS_IMAGE_MODEL else {}))))

    def test_flavor_resources_zero_does_not_override(self):
        # Nova adds the slot after the flavor's resources: extra specs.
        self._do_test_queried(factories.encrypted_spec(extra_specs={
            'resources:MEM_ENCRYPTION_CONTEXT': '0',
            'resources1:MEM_ENCRYPTION_CONTEXT': '0'}))

    def test_pcpu_fallback_query_queried(self):
        # Nova's second query for pinned guests, VCPU instead of PCPU.
        self._do_test_queried(factories.encrypted_spec(
            extra_specs={'hw:cpu_policy': 'dedicated'}),
            enable_pinning_translate=False)

    def test_rebuild_plain_and_invalid_not_queried(self):
        for spec_obj in (factories.encrypted_spec(rebuild=True),
                         factories.spec(),
                         factories.spec({'hw:mem_encryption': 'true'})):
            self.assertFalse(sev_request.Request(
                spec_obj, block_device_mappings=[],
                raw_image_properties={}).slot_in_query)
