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

"""What compat reports agrees with what the installed Nova does.

The oracle is Nova itself: the Placement query its ResourceRequest builds
from a real RequestSpec, the image properties its ImageMeta keeps, the
options it registers.
"""

import re

import os_resource_classes as orc
import os_traits

import nova.conf
from nova import exception
from nova.scheduler import utils as scheduler_utils
from nova import test
from nova import version

from sev_scheduler import compat
from sev_scheduler.tests.unit import factories

# An image every model accepts, SNP's stateless firmware and TDX's "no
# video" included.
ANY_MODEL_IMAGE = dict(factories.SNP, hw_video_model='none')
MODEL_KEY = 'hw_mem_encryption_model'


def _placement_query(extra_specs, image_properties=ANY_MODEL_IMAGE):
    """The resources and required traits Nova asks Placement for."""
    spec_obj = factories.spec(extra_specs, image_properties, is_bfv=False)
    resource_request = scheduler_utils.ResourceRequest.from_request_spec(
        spec_obj)
    return (resource_request.merged_resources(),
            resource_request.all_required_traits)


def _model_flavor(model, switch='true'):
    extra_specs = {'hw:mem_encryption': switch}
    if model:
        extra_specs['hw:mem_encryption_model'] = model
    return extra_specs


class PlacementQueryTestCase(test.NoDBTestCase):
    """Models and traits, against the query Nova sends Placement."""

    def _encryption_traits(self, model):
        """The traits Nova asks for because the model is requested."""
        resources, traits = _placement_query(_model_flavor(model))
        self.assertEqual(1, resources[orc.MEM_ENCRYPTION_CONTEXT], model)
        _plain_resources, plain_traits = _placement_query(
            _model_flavor(model, switch='false'))
        return traits - plain_traits

    def test_model_trait_is_novas_query_trait_passes(self):
        for model in compat.AMD_MODELS:
            traits = self._encryption_traits(model)
            if compat.READS_MODEL_KEYS:
                self.assertEqual({compat.mem_encryption(model).trait},
                                 traits, model)
            else:
                # 2025.1 asks for a slot only: it knows AMD SEV alone, and
                # puts the slots on the compute node's root provider.
                self.assertEqual(set(), traits, model)

    def test_default_model_trait_is_novas_query_trait_passes(self):
        traits = self._encryption_traits(None)
        expected = ({compat.mem_encryption(compat.AMD_SEV).trait}
                    if compat.READS_MODEL_KEYS else set())
        self.assertEqual(expected, traits)

    def test_plain_request_no_slot_passes(self):
        resources, traits = _placement_query({}, {})
        self.assertNotIn(orc.MEM_ENCRYPTION_CONTEXT, resources)
        self.assertEqual(set(), traits)

    def test_models_are_those_nova_tells_apart_passes(self):
        # A model is honoured when Nova's query for it differs from the
        # default model's (AMD SEV); one Nova refuses, or reads as the
        # default, is not.
        default = _placement_query(_model_flavor(None))
        for model in compat.ALL_AMD_MODELS[1:] + (compat.INTEL_TDX,):
            try:
                honoured = _placement_query(_model_flavor(model)) != default
            except exception.NovaException:
                honoured = False
            self.assertEqual(honoured, model in compat.MODELS, model)
        self.assertIn(compat.AMD_SEV, compat.MODELS)

    def test_model_traits_known_to_os_traits_passes(self):
        for model, trait in compat.MODEL_TRAITS.items():
            self.assertIn(trait, os_traits.get_traits(), model)


class MemEncryptionTestCase(test.NoDBTestCase):

    def test_locked_memory_passes(self):
        expected = {compat.AMD_SEV: True, compat.AMD_SEV_ES: True,
                    compat.AMD_SEV_SNP: False}
        for model in compat.AMD_MODELS:
            self.assertEqual(expected[model],
                             compat.mem_encryption(model).needs_locked_memory,
                             model)

    def test_constraint_plain_request_passes(self):
        for extra_specs in ({}, {'hw:mem_encryption': 'false'}):
            self.assertIsNone(compat.mem_encryption_constraint(
                factories.flavor(extra_specs), factories.image()))

    def test_constraint_encrypted_request_passes(self):
        for model in compat.AMD_MODELS:
            self.assertEqual(
                compat.mem_encryption(model),
                compat.mem_encryption_constraint(
                    factories.flavor(_model_flavor(model)),
                    factories.image(**ANY_MODEL_IMAGE)))

    def test_constraint_default_model_amd_sev_passes(self):
        self.assertEqual(
            compat.AMD_SEV,
            compat.mem_encryption_constraint(
                factories.flavor(factories.SEV_FLAVOR),
                factories.image(**factories.UEFI)).model)

    def test_constraint_without_uefi_fails(self):
        self.assertRaises(
            exception.NovaException, compat.mem_encryption_constraint,
            factories.flavor(factories.SEV_FLAVOR), factories.image())


class ImagePropertyTestCase(test.NoDBTestCase):

    def test_model_property_as_nova_keeps_it_passes(self):
        image = factories.image(**{MODEL_KEY: compat.AMD_SEV})
        kept = MODEL_KEY in image.properties.obj_what_changed()
        self.assertEqual(kept, compat.READS_IMAGE_MODEL)
        self.assertEqual(compat.AMD_SEV if kept else None,
                         compat.image_property(image.properties, MODEL_KEY))

    def test_unset_property_none_passes(self):
        self.assertIsNone(compat.image_property(
            factories.image().properties, MODEL_KEY))

    def test_property_unknown_to_nova_none_passes(self):
        self.assertIsNone(compat.image_property(
            factories.image().properties, 'hw_no_such_property'))


class UnsupportedModelReasonTestCase(test.NoDBTestCase):

    def test_reason_names_model_and_release_passes(self):
        for model, release in compat.FIRST_RELEASE.items():
            if model in compat.MODELS:
                continue
            reason = compat.unsupported_model_reason(model)
            self.assertIn("'%s'" % model, reason)
            self.assertIn(release, reason)
            self.assertIn(version.version_string(), reason)

    def test_unknown_model_no_reason_passes(self):
        self.assertIsNone(compat.unsupported_model_reason('amd-sev-xx'))

    def test_first_release_agrees_with_detection_passes(self):
        # The release a refusal names is the first to honour the model:
        # on it and later ones, compat finds the model.
        running = int(version.version_string().split('.')[0])
        for model, release in compat.FIRST_RELEASE.items():
            first = int(re.search(r'\(Nova (\d+)\)', release).group(1))
            self.assertEqual(running >= first, model in compat.MODELS,
                             model)


class OptionsAndPathsTestCase(test.NoDBTestCase):

    def test_slot_option_as_nova_registers_it_passes(self):
        self.assertEqual(compat.LIBVIRT_SLOT_OPTION in nova.conf.CONF.libvirt,
                         compat.CAPS_SLOTS_BY_OPTION)

    def test_kernel_parameter_files_passes(self):
        for name in ('sev', 'sev_es', 'sev_snp'):
            self.assertEqual('/sys/module/kvm_amd/parameters/' + name,
                             compat.kernel_parameter_file(name))

    def test_misc_capacity_file_passes(self):
        self.assertEqual('/sys/fs/cgroup/misc.capacity',
                         compat.misc_capacity_file())
