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

The request is judged by the image that will run, as written
(``raw_image``): an image switch Nova read as False is checked as the user
wrote it, and an unshelve is judged by its shelved snapshot's current
properties, which the compute spawns from.
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
    if (flavor_value is None and flavor_model is None and
            image_value is None and image_model is None):
        # Most requests: no key at all, nothing for Nova to read either.
        return NOT_REQUESTED

    if flavor_value is not None:
        try:
            strutils.bool_from_string(flavor_value, strict=True)
        except ValueError:
            # Nova reads anything but a known "true" as False, whatever the
            # model: a malformed switch is refused before the model is read.
            return Encryption(error=(
                "the flavor's %s extra spec is %r, which is neither true "
                "nor false" % (FLAVOR_KEY, flavor_value)))

    # An empty model is no model, as Nova reads it (the default applies).
    named_models = {m for m in (flavor_model, image_model) if m}
    if (named_models == {compat.INTEL_TDX} and
            compat.INTEL_TDX in compat.MODELS):
        # Another vendor's technology: not ours to accept or refuse.
        return NOT_REQUESTED
    switched_on = (flavor_value is not None and
                   strutils.bool_from_string(flavor_value) or
                   image_value is True)
    for model in sorted(named_models - set(compat.MODELS)):
        later = compat.unsupported_model_reason(model)
        if later is None:
            return Encryption(error=(
                "the flavor's %s extra spec is %r, which is not a memory "
                "encryption model (allowed: %s)" % (
                    FLAVOR_MODEL_KEY, model, ', '.join(compat.MODELS))))
        if switched_on:
            # A model of a later release: this Nova ignores or refuses it.
            # Without the switch the model is refused below, as on any
            # release; switched off, nothing is asked.
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


def _malformed_image_value(raw_properties):
    """Why the image's encryption properties as written are unreadable.

    None when they are readable.

    Nova reads an image ``hw_mem_encryption`` that is not a known boolean
    ("maybe", "enabled", a full-width "ＴＲＵＥ") as False before the
    scheduler sees it, and would start the guest unencrypted.
    """
    value = raw_properties.get(IMAGE_KEY)
    if value is not None:
        try:
            strutils.bool_from_string(value, strict=True)
        except ValueError:
            return ("the image's %s property is %r, which is neither true "
                    "nor false" % (IMAGE_KEY, value))
    model = raw_properties.get(IMAGE_MODEL_KEY)
    if (model and model not in compat.MODELS and
            compat.unsupported_model_reason(model) is None):
        return ("the image's %s property is %r, which is not a memory "
                "encryption model (allowed: %s)" % (
                    IMAGE_MODEL_KEY, model, ', '.join(compat.MODELS)))
    return None


def _unshelve_change(stored, unshelved, image_id):
    """Refuse an unshelve whose snapshot changes the guest's encryption.

    The conductor asks Placement for what the RequestSpec stored, the
    compute spawns what the snapshot says now: a slot held by an
    unencrypted guest, or an encrypted guest holding none.
    """
    if unshelved.error or stored.error or stored.model == unshelved.model:
        return unshelved if unshelved.error else stored
    return Encryption(error=(
        "shelved image %s now asks for %s but the server was shelved with "
        "%s" % (image_id, _described(unshelved), _described(stored))))


def _described(encryption):
    return ('memory encryption (%s)' % encryption.model if encryption.model
            else 'no memory encryption')


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
    if values[1] is False:
        # Nova reads a malformed image value as False too: only the image
        # as written, which could not be read, says it was a clear "no".
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
        self._mappings_given = block_device_mappings is not None
        self._raw_image = (raw_image.RawImage(raw_image_properties)
                           if raw_image_properties is not None else None)
        # Set by capacity.view() when a filter or weigher needs it.
        self.slot_view = None
        self.flavor = spec_obj.flavor
        #: The image the guest will run: the RequestSpec's, or on unshelve
        #: the shelved snapshot with its current properties.
        self.image = _image_of(spec_obj)
        self.encryption = read_encryption(self.flavor, self.image)
        # Nova's own helper's reading of the RequestSpec's flavor and image,
        # which Nova's Placement query asks a slot of; None where this
        # reading found the request plain or invalid.
        self._queried = self.encryption.config
        if self._needs_raw_image():
            self.encryption = self._read_raw_image()

    def _needs_raw_image(self):
        """Whether the image as written can change the reading.

        An image whose ``hw_mem_encryption`` Nova read as False may hold a
        malformed value; a move may be the unshelve of a snapshot edited
        since; 2025.1 drops the image's model. Every other request is read
        without a lookup.
        """
        return (self.image.properties.get(IMAGE_KEY) is False or
                self._is_other_move() or
                self.encryption.config is not None and
                not compat.READS_IMAGE_MODEL)

    def _is_other_move(self):
        """Whether this is a move that keeps the server's image.

        A rebuild targets the server's cell too, but brings a new image.
        """
        return block_devices.is_move(self.spec) and not self.is_rebuild

    def _read_raw_image(self):
        raw = self.raw_image
        error = _malformed_image_value(raw.properties)
        if error:
            return Encryption(error=error)
        encryption = self.encryption
        if raw.unshelve_image is not None:
            try:
                image = objects.ImageMeta.from_dict(raw.unshelve_image)
            except ValueError as e:
                return Encryption(error=(
                    "the server's shelved image %s cannot be read: %s"
                    % (raw.unshelve_image.get('id'), e)))
            self.image = image
            encryption = _unshelve_change(
                encryption, read_encryption(self.flavor, image),
                raw.unshelve_image.get('id'))
        if (encryption.config and not compat.READS_IMAGE_MODEL and
                not self._is_other_move()):
            # A server moved is already the AMD SEV guest Nova started; a
            # refusal would strand it (evacuate) and protect nothing.
            encryption = _image_model_nova_drops(encryption, raw.properties)
        return encryption

    @functools.cached_property
    def is_rebuild(self):
        return scheduler_utils.request_is_rebuild(self.spec)

    @property
    def slot_in_query(self):
        """Whether Nova's Placement query asked for a slot of the model.

        Nova's ResourceRequest turns the same reading of the RequestSpec's
        flavor and image into ``MEM_ENCRYPTION_CONTEXT=1`` and the model's
        trait, after the flavor's ``resources:`` extra specs, so none
        overrides it (2025.1 to 2026.2; the PCPU fallback query too). Every
        allocation candidate Placement gave then carries a slot of the
        model. False when the request as read here (the image as written,
        an unshelved snapshot) differs from Nova's reading, or no query was
        made (rebuild).
        """
        return (not self.is_rebuild and self.encryption.config is not None
                and self.encryption.config == self._queried)

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
    def raw_image(self):
        """The image the guest will run, as written: one lookup, if needed.

        A :class:`sev_scheduler.raw_image.RawImage`.
        """
        if self._raw_image is None:
            self._raw_image = raw_image.read(self.context, self.spec,
                                             self.is_rebuild, self._stored)
        return self._raw_image

    @property
    def raw_image_properties(self):
        """The image's properties as written: one lookup, when needed."""
        return self.raw_image.properties

    @property
    def block_device_mappings(self):
        """The request's block device mappings: one database lookup."""
        if self._block_device_mappings is None:
            self._block_device_mappings = block_devices.get_for_request(
                self.context, self.spec, self._stored)
        return self._block_device_mappings

    @property
    def is_new_server(self):
        """Whether the request boots a new server (multi-create too).

        Its compute drops the device names its user gave
        (``sev_scheduler.buses``). A new server's mappings are in its
        BuildRequest; mappings a caller gave are a new server's unless the
        RequestSpec moves or rebuilds one.
        """
        if self._mappings_given:
            return not (block_devices.is_move(self.spec) or self.is_rebuild)
        return self._stored.build_request is not None

    @property
    def root_device_name(self):
        """The root device name Nova's API gave a new server, or None.

        From its image's properties (``root_device_name``, ``mappings``);
        None without a BuildRequest.
        """
        if self._mappings_given or not self.is_new_server:
            return None
        instance = self._stored.build_request.instance
        return (instance.root_device_name
                if instance.obj_attr_is_set('root_device_name') else None)

    @functools.cached_property
    def _stored(self):
        """Where Nova keeps the instance: found once for both lookups."""
        return block_devices.Stored(self.context, self.spec)


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
