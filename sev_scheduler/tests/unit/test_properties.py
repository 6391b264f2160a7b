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

"""Properties of the filter over generated flavors, images and hosts.

On every Nova release: models are drawn from every release's, so that the
ones the running Nova does not honour are generated too.
"""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from oslo_utils.fixture import uuidsentinel as uuids
from oslo_utils import strutils

from nova import context as nova_context
from nova import exception
from nova import objects
from nova.objects import fields
from nova import test

from sev_scheduler import compat
from sev_scheduler import filters
from sev_scheduler import request as sev_request
from sev_scheduler.tests.unit import factories
from sev_scheduler.tests.unit import fake_placement

BOOLEAN_TEXT = ['true', 'false', 'True', 'FALSE', '1', '0', 'yes', 'no',
                'on', 'off', 't', 'f', 'y', 'n']
#: Every model of every release, whether the running Nova knows it or not.
MODELS = ['amd-sev', 'amd-sev-es', 'amd-sev-snp', 'intel-tdx']
#: The image models a request can carry: Nova's ImageMeta refuses a model
#: it does not know, or drops the property where it has none (the filter
#: then reads the image as written).
IMAGE_MODELS = (list(compat.MODELS) if compat.READS_IMAGE_MODEL
                else MODELS)


def _optional(strategy):
    return st.one_of(st.none(), strategy)


flavor_values = _optional(st.one_of(st.sampled_from(BOOLEAN_TEXT),
                                    st.text(max_size=8)))
flavor_models = _optional(st.one_of(st.sampled_from(MODELS),
                                    st.text(max_size=12)))
#: An image's hw_mem_encryption as written: booleans as Nova's objects
#: hold them, and text Nova reads as False when it is not a known "true".
image_values = _optional(st.one_of(
    st.booleans(), st.sampled_from(BOOLEAN_TEXT + [
        'maybe', 'yes please', '\uff34\uff32\uff35\uff25', 'enabled']),
    st.text(max_size=8)))
image_models = _optional(st.sampled_from(IMAGE_MODELS))


@st.composite
def requests(draw):
    """Flavor extra specs and image properties around memory encryption."""
    extra_specs = {}
    for key, strategy in ((sev_request.FLAVOR_KEY, flavor_values),
                          (sev_request.FLAVOR_MODEL_KEY, flavor_models),
                          ('pci_passthrough:alias',
                           _optional(st.just('gpu:1'))),
                          ('resources:VGPU', _optional(st.just('1')))):
        value = draw(strategy)
        if value is not None:
            extra_specs[key] = value
    properties = {}
    for key, strategy in (
            (sev_request.IMAGE_KEY, image_values),
            (sev_request.IMAGE_MODEL_KEY, image_models),
            ('hw_firmware_type', _optional(st.sampled_from(['uefi',
                                                           'bios']))),
            ('hw_firmware_stateless', _optional(st.booleans())),
            ('hw_machine_type', _optional(st.sampled_from(
                ['q35', 'pc', 'pc-q35-8.2']))),
            ('hw_video_model', _optional(st.sampled_from(['none', 'vga']))),
            ('hw_disk_bus', _optional(st.sampled_from(
                list(fields.DiskBus.ALL)))),
            ('hw_cdrom_bus', _optional(st.sampled_from(['ide', 'sata'])))):
        value = draw(strategy)
        if value is not None:
            properties[key] = value
    return extra_specs, properties


@st.composite
def hosts(draw):
    """Hosts with and without slots, both layouts, any RAM ratio."""
    result = []
    for index in range(draw(st.integers(min_value=0, max_value=5))):
        name = 'host%d' % index
        kind = draw(st.sampled_from(['root', 'child', 'plain', 'empty']))
        ratio = draw(st.sampled_from([None, 0.5, 1.0, 1.5, 16.0]))
        if kind == 'plain':
            host = factories.plain_host(name, ram_allocation_ratio=ratio)
        elif kind == 'empty':
            host = factories.host(name, getattr(uuids, name), [],
                                  ram_allocation_ratio=ratio)
        else:
            host = factories.sev_host(name, layout=kind,
                                      ram_allocation_ratio=ratio)
            if draw(st.booleans()):
                # A candidate without a slot next to the one with it.
                host.allocation_candidates.append(
                    factories.candidate(host.uuid))
        result.append(host)
    return result


def _not_boolean(value):
    """Whether a value that is set is no boolean strutils knows."""
    try:
        if value is not None:
            strutils.bool_from_string(value, strict=True)
    except ValueError:
        return True
    return False


def _malformed_switch(extra_specs):
    return _not_boolean(extra_specs.get(sev_request.FLAVOR_KEY))


def _malformed(extra_specs):
    model = extra_specs.get(sev_request.FLAVOR_MODEL_KEY)
    return (_malformed_switch(extra_specs) or
            bool(model) and model not in MODELS)


def malformed_image_value(properties):
    """Whether the image's hw_mem_encryption as written is no boolean.

    Nova reads it as False; the filter refuses it.
    """
    return _not_boolean(properties.get(sev_request.IMAGE_KEY))


def _switched_off(extra_specs, properties):
    """Whether the flavor or the image clearly says "no encryption"."""
    value = extra_specs.get(sev_request.FLAVOR_KEY)
    image_value = properties.get(sev_request.IMAGE_KEY)
    return (image_value is not None and
            strutils.bool_from_string(image_value, default=True) is False or
            value is not None and
            strutils.bool_from_string(value, default=True) is False)


def _read(flavor, image, properties):
    """The filter's reading, given the image as written."""
    spec_obj = factories.spec()
    spec_obj.flavor, spec_obj.image = flavor, image
    return sev_request.Request(
        spec_obj, block_device_mappings=objects.BlockDeviceMappingList(),
        raw_image_properties=dict(properties)).encryption


class FilterPropertiesTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        factories.build_request(nova_context.get_admin_context())
        fake_placement.use(self)
        self.filter = filters.SEVFilter()

    @settings(max_examples=300, deadline=None)
    @given(requests())
    def test_reading_agrees_with_nova(self, request):
        extra_specs, properties = request
        flavor = factories.flavor(extra_specs)
        image = factories.image(**properties)
        ours = _read(flavor, image, properties)
        if malformed_image_value(properties):
            # Nova reads it as False, whatever the rest says: refused.
            self.assertIsNotNone(ours.error)
            return
        named = {extra_specs.get(sev_request.FLAVOR_MODEL_KEY),
                 properties.get(sev_request.IMAGE_MODEL_KEY)} - {None, ''}
        # Intel TDX is another vendor's, where Nova honours it; a
        # malformed switch is refused whatever the model.
        not_ours = (named == {'intel-tdx'} and 'intel-tdx' in compat.MODELS
                    and not _malformed_switch(extra_specs))
        unhonoured = named - set(compat.MODELS)
        try:
            # Nova's own reading, through the seam test_compat checks.
            nova = compat.mem_encryption_constraint(flavor, image)
        except exception.NovaException:
            # Nova refuses the request: so do we, unless it is TDX's.
            self.assertEqual(not not_ours, ours.error is not None)
            return
        if nova is None:
            self.assertIsNone(ours.config)
            if _malformed(extra_specs) and not not_ours:
                # Where Nova reads a malformed value as "no", we refuse.
                self.assertIsNotNone(ours.error)
            elif _switched_off(extra_specs, properties) or not (
                    named or _malformed(extra_specs)):
                # A plain request: never refused, whatever model it names
                # (even one this Nova does not have).
                self.assertFalse(ours.requested)
        elif unhonoured:
            # Encryption is on, and a model this Nova ignores, misreads or
            # does not know is named: refused, never started as another.
            self.assertIsNotNone(ours.error)
            # The reason names such a model, and the release having it.
            self.assertTrue(any(
                (repr(model) in ours.error or "'%s'" % model in ours.error)
                and compat.FIRST_RELEASE.get(model, '') in ours.error
                for model in unhonoured), ours.error)
        elif nova.model in compat.AMD_MODELS:
            self.assertIsNone(ours.error)
            self.assertEqual(nova.model, ours.model)
        else:
            self.assertFalse(ours.requested)

    @settings(max_examples=300, deadline=None)
    @given(requests(), hosts())
    def test_only_slots_pass_and_only_no_valid_host_raised(self, request,
                                                           host_states):
        extra_specs, properties = request
        spec_obj = factories.spec(extra_specs, properties)
        # The image as written, which the BuildRequest would hold.
        sev_request.for_spec(spec_obj, raw_image_properties=dict(properties))
        encryption = sev_request.read_encryption(spec_obj.flavor,
                                                 spec_obj.image)
        # As Nova's own Placement query leaves them (intel-tdx's included).
        handed = factories.as_nova_hands_them(spec_obj, host_states)
        try:
            passed = list(self.filter.filter_all(list(handed), spec_obj))
        except exception.NoValidHost:
            self.assertTrue(encryption.requested or
                            malformed_image_value(properties))
            return
        if not encryption.requested:
            self.assertEqual(handed, passed)
            return
        for host in passed:
            self.assertTrue(host.allocation_candidates)
            for candidate in host.allocation_candidates:
                self.assertTrue(any(
                    'MEM_ENCRYPTION_CONTEXT' in allocation['resources']
                    for allocation in candidate['allocations'].values()))
