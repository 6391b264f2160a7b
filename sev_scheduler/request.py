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

"""What a scheduling request asks for, read once per request.

The encryption request is read with Nova's own helper,
``nova.virt.hardware.get_mem_encryption_constraint`` (through
``sev_scheduler.compat``), the one Nova uses to turn it into a Placement
query, so the filter and Placement never disagree on what was asked. On
top of it the reading fails closed: a value of a memory-encryption key that
Nova would silently read as "no" (a malformed boolean, an unknown model, a
model without the switch), or a model the running Nova would ignore or
misread, is an invalid request, not a request without encryption.
"""

import dataclasses
import functools
import weakref

from oslo_utils import strutils

from nova import context as nova_context
from nova import exception
from nova import objects
from nova.scheduler import utils as scheduler_utils

from sev_scheduler import block_devices
from sev_scheduler import compat
from sev_scheduler import raw_image

FLAVOR_KEY = 'hw:mem_encryption'
FLAVOR_MODEL_KEY = 'hw:mem_encryption_model'
IMAGE_KEY = 'hw_mem_encryption'
IMAGE_MODEL_KEY = 'hw_mem_encryption_model'


@dataclasses.dataclass(frozen=True)
class Encryption:
    """The AMD memory encryption one request asks for.

    ``config`` is the requested model as the running Nova treats it;
    ``error`` says why the request cannot be honoured as written. Neither
    set: no AMD memory encryption was asked for.
    """

    config: compat.MemEncryption | None = None
    error: str | None = None

    @property
    def requested(self):
        return self.config is not None or self.error is not None

    @property
    def model(self):
        return self.config.model if self.config else None


NOT_REQUESTED = Encryption()


def _extra_specs(flavor):
    return flavor.extra_specs if 'extra_specs' in flavor else {}


def _image_of(spec_obj):
    """The request's ImageMeta; one without properties if there is none."""
    if spec_obj.obj_attr_is_set('image') and spec_obj.image:
        return spec_obj.image
    return objects.ImageMeta(properties=objects.ImageMetaProps())


def _image_model(image_meta):
    return compat.image_property(image_meta.properties, IMAGE_MODEL_KEY)


def read_encryption(flavor, image_meta):
    """Read the memory encryption asked for by a flavor and an image."""
    extra_specs = _extra_specs(flavor)
    flavor_value = extra_specs.get(FLAVOR_KEY)
    flavor_model = extra_specs.get(FLAVOR_MODEL_KEY)
    image_value = image_meta.properties.get(IMAGE_KEY)
    image_model = _image_model(image_meta)

    # An empty model is no model, as Nova reads it (the default applies).
    named_models = {m for m in (flavor_model, image_model) if m}
    if (named_models == {compat.INTEL_TDX} and
            compat.INTEL_TDX in compat.MODELS):
        # Another vendor's technology: not ours to accept or refuse.
        return NOT_REQUESTED

    if flavor_value is not None:
        try:
            strutils.bool_from_string(flavor_value, strict=True)
        except ValueError:
            # Nova reads anything but a known "true" as False.
            return Encryption(error=(
                "the flavor's %s extra spec is %r, which is neither true "
                "nor false" % (FLAVOR_KEY, flavor_value)))
    switched_off = (flavor_value is not None and
                    not strutils.bool_from_string(flavor_value) or
                    image_value is False)
    for model in sorted(named_models - set(compat.MODELS)):
        later = compat.unsupported_model_reason(model)
        if later is None:
            return Encryption(error=(
                "the flavor's %s extra spec is %r, which is not a memory "
                "encryption model (allowed: %s)" % (
                    FLAVOR_MODEL_KEY, model, ', '.join(compat.MODELS))))
        if not switched_off:
            # A model of a later release: this Nova ignores or refuses it.
            return Encryption(error=later)

    try:
        config = compat.mem_encryption_constraint(flavor, image_meta)
    except exception.NovaException as e:
        return Encryption(error=e.format_message())

    if config is None:
        explicit_no = flavor_value is not None or image_value is not None
        if named_models and not explicit_no:
            return Encryption(error=(
                "a memory encryption model (%s) is set but memory encryption "
                "is not enabled: set %s=true on the flavor or %s=true on "
                "the image" % (', '.join(sorted(named_models)), FLAVOR_KEY,
                               IMAGE_KEY)))
        return NOT_REQUESTED
    if config.model not in compat.AMD_MODELS:
        return NOT_REQUESTED
    return Encryption(config=config)


def _image_model_nova_drops(encryption, raw_properties):
    """Refuse an image model that the running Nova drops unread.

    Before 2025.2 the model is not an image property Nova knows: the guest
    would start as AMD SEV, whatever model the image names.
    """
    model = raw_properties.get(IMAGE_MODEL_KEY)
    if not model or model in compat.MODELS:
        return encryption
    return Encryption(error=compat.unsupported_model_reason(model) or (
        "the image's %s property is %r, which is not a memory encryption "
        "model (allowed: %s)" % (IMAGE_MODEL_KEY, model,
                                 ', '.join(compat.MODELS))))


def names_encryption(spec_obj):
    """Whether a request names memory encryption in any form.

    The last resort when the request could not be read: anything but a clear
    "no" counts as a request, so that a failure never lets an encrypted guest
    through. A spec too broken to look at counts as a request too.
    """
    try:
        extra_specs = _extra_specs(spec_obj.flavor)
        props = _image_of(spec_obj).properties
        values = [extra_specs.get(FLAVOR_KEY), props.get(IMAGE_KEY)]
        models = [extra_specs.get(FLAVOR_MODEL_KEY),
                  compat.image_property(props, IMAGE_MODEL_KEY)]
    except Exception:
        return True
    if any(model is not None for model in models):
        return True
    return any(
        value is not None and
        strutils.bool_from_string(value, strict=False, default=True)
        for value in values)


class Request:
    """One scheduling request, as far as memory encryption is concerned."""

    def __init__(self, spec_obj, block_device_mappings=None,
                 raw_image_properties=None):
        """Read ``spec_obj``.

        :param block_device_mappings: the request's mappings when the caller
            has them (offline, without a database); looked up otherwise.
        :param raw_image_properties: the image's properties as written, when
            the caller has them; looked up otherwise, when needed.
        """
        self.spec = spec_obj
        self._block_device_mappings = block_device_mappings
        self._raw_image_properties = raw_image_properties
        # Set by capacity.view() when a filter or weigher needs it.
        self.slot_view = None
        self.flavor = spec_obj.flavor
        self.image = _image_of(spec_obj)
        self.is_rebuild = scheduler_utils.request_is_rebuild(spec_obj)
        self.encryption = read_encryption(self.flavor, self.image)
        if self.encryption.config and not compat.READS_IMAGE_MODEL:
            self.encryption = _image_model_nova_drops(
                self.encryption, self.raw_image_properties)

    @property
    def instance_uuid(self):
        return self.spec.instance_uuid

    @property
    def extra_specs(self):
        return _extra_specs(self.flavor)

    @property
    def image_properties(self):
        return self.image.properties

    @property
    def pci_requests(self):
        if not self.spec.obj_attr_is_set('pci_requests'):
            return []
        pci_requests = self.spec.pci_requests
        return pci_requests.requests if pci_requests else []

    @functools.cached_property
    def context(self):
        """An admin context for the lookups the scheduler makes itself."""
        context = self.spec._context or nova_context.get_admin_context()
        return context.elevated()

    @property
    def raw_image_properties(self):
        """The image's properties as written: one lookup, when needed."""
        if self._raw_image_properties is None:
            self._raw_image_properties = raw_image.get_for_request(
                self.context, self.spec, self.is_rebuild)
        return self._raw_image_properties

    @property
    def block_device_mappings(self):
        """The request's block device mappings: one database lookup."""
        if self._block_device_mappings is None:
            self._block_device_mappings = block_devices.get_for_request(
                self.context, self.spec)
        return self._block_device_mappings


# Nova calls the filters once per instance of a multi-create with the same
# RequestSpec: read it once for all of them. Entries live as long as the
# RequestSpec, so nothing outlives the request.
_requests = weakref.WeakKeyDictionary()


def for_spec(spec_obj, **known):
    """The Request read from ``spec_obj``, read at most once.

    :param known: what the caller already has, see :class:`Request`; only
        used when the request is read now.
    """
    request = _requests.get(spec_obj)
    if request is None:
        request = _requests[spec_obj] = Request(spec_obj, **known)
    return request
