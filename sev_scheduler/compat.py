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

"""What the running Nova does with memory encryption, asked in one place.

sev-scheduler runs on Nova 31 (2025.1) to 34 (2026.2). They differ in the
models they know, in what ``hardware.get_mem_encryption_constraint``
returns, in the trait they ask Placement for, in the image properties they
read and in the options they have. This module asks the installed Nova what
it has (features, never version numbers) and answers in names of our own;
no other module looks at these differences.
"""

import dataclasses
import functools

import os_traits

import nova.conf.libvirt
from nova.objects import fields
from nova.objects import image_meta
from nova import version
from nova.virt import hardware

AMD_SEV = 'amd-sev'
AMD_SEV_ES = 'amd-sev-es'
AMD_SEV_SNP = 'amd-sev-snp'
INTEL_TDX = 'intel-tdx'

#: Every AMD model, whether the running Nova knows it or not.
ALL_AMD_MODELS = (AMD_SEV, AMD_SEV_ES, AMD_SEV_SNP)

#: The first release that honours a model, for refusals on older ones.
FIRST_RELEASE = {
    AMD_SEV_ES: '2025.2 (Nova 32)',
    AMD_SEV_SNP: '2026.2 (Nova 34)',
    INTEL_TDX: '2026.2 (Nova 34)',
}

_MODEL_ENUM = getattr(fields, 'MemEncryptionModel', None)

#: Whether Nova reads ``hw:mem_encryption_model`` at all: before 2025.2 it
#: ignores the key and every encrypted guest is AMD SEV.
READS_MODEL_KEYS = _MODEL_ENUM is not None

#: Whether the RequestSpec's image carries ``hw_mem_encryption_model``:
#: before 2025.2 Nova drops the property (and boots AMD SEV).
READS_IMAGE_MODEL = ('hw_mem_encryption_model' in
                     image_meta.ImageMetaProps.fields)

#: The models the running Nova honours.
MODELS = tuple(_MODEL_ENUM.ALL) if READS_MODEL_KEYS else (AMD_SEV,)

#: The AMD models the running Nova honours, the ones SEVFilter places.
AMD_MODELS = tuple(model for model in ALL_AMD_MODELS if model in MODELS)

#: Nova's own definition of ``[libvirt] num_memory_encrypted_guests``
#: (type, minimum, deprecation), or None where it is gone.
LIBVIRT_SLOT_OPTION = 'num_memory_encrypted_guests'
LIBVIRT_SLOT_OPT = next((opt for opt in nova.conf.libvirt.ALL_OPTS
                         if opt.name == LIBVIRT_SLOT_OPTION), None)
#: Whether the computes' option still caps their slots (removed in 2026.2).
CAPS_SLOTS_BY_OPTION = LIBVIRT_SLOT_OPT is not None
#: The release that removed it, for messages on the releases before.
LIBVIRT_SLOT_OPTION_REMOVED_IN = '2026.2 (Nova 34)'


@dataclasses.dataclass(frozen=True)
class MemEncryption:
    """One memory encryption model, as the running Nova treats it."""

    model: str
    #: The trait of the providers holding this model's slots. Nova asks
    #: Placement for it since 2025.2; before, slots sat on the compute
    #: node's root provider, which has the AMD SEV trait.
    trait: str
    #: Whether the guest's memory is locked, so cannot be overcommitted.
    needs_locked_memory: bool


def _slot_trait(model):
    """os-traits' name for a model: amd-sev-es is HW_CPU_X86_AMD_SEV_ES."""
    return 'HW_CPU_X86_' + model.upper().replace('-', '_')


# 2026.2 describes each model itself.
_NOVA_CONFIG = getattr(getattr(hardware, 'MemEncryptionConfig', None),
                       'create', None)


@functools.lru_cache()
def mem_encryption(model):
    """The MemEncryption of a model the running Nova honours."""
    if _NOVA_CONFIG is not None:
        config = _NOVA_CONFIG(model)
        return MemEncryption(model, config.required_trait,
                             config.needs_locked_memory)
    # Before: the trait nova.scheduler.utils asks Placement for (2025.2,
    # 2026.1), or the root provider's (2025.1); both models lock memory.
    return MemEncryption(model, _slot_trait(model), True)


#: The slot providers' trait per AMD model the running Nova honours.
MODEL_TRAITS = {model: mem_encryption(model).trait for model in AMD_MODELS}

#: The slot providers' trait of every AMD model the installed os-traits
#: names, placed by the running Nova or not: what Placement may hold when
#: the computes run a newer Nova than the one installed here. Placement
#: refuses a trait it does not know.
KNOWN_MODEL_TRAITS = {model: _slot_trait(model) for model in ALL_AMD_MODELS
                      if _slot_trait(model) in os_traits.get_traits()}


def mem_encryption_constraint(flavor, image):
    """Nova's own reading of a request: a MemEncryption, or None.

    :raises nova.exception.NovaException: when Nova finds the request
        invalid (conflicts, firmware, machine type, unknown model).
    """
    constraint = hardware.get_mem_encryption_constraint(flavor, image)
    if not constraint:
        return None
    # Before 2025.2 the answer is True, and AMD SEV the only model.
    model = AMD_SEV if constraint is True else constraint.model
    return mem_encryption(model)


def image_property(properties, name):
    """``properties.get(name)``; None for a property Nova does not know.

    An unknown name raises in ImageMetaProps.get (2025.1 has no
    ``hw_mem_encryption_model``).
    """
    if name not in image_meta.ImageMetaProps.fields:
        # Dropped from the request's image: see raw_image for the value.
        return None
    return properties.get(name)


def unsupported_model_reason(model):
    """Why the running Nova cannot honour a model it does not know."""
    release = FIRST_RELEASE.get(model)
    if release is None:
        return None
    return ("memory encryption model '%s' needs OpenStack %s or later; "
            "this cloud runs Nova %s, which %s" % (
                model, release, version.version_string(),
                'does not read the model and would start an AMD SEV guest'
                if not READS_MODEL_KEYS else 'does not know it'))


def kernel_parameter_file(name):
    """The path of a kvm_amd parameter file ('sev', 'sev_es', 'sev_snp').

    Nova's libvirt driver reads one file per model since 2025.2
    ('.../parameters/%s'), the 'sev' file alone before: the others are
    found beside it.
    """
    from nova.virt.libvirt import host as libvirt_host
    path = libvirt_host.SEV_KERNEL_PARAM_FILE
    return path % name if '%s' in path else (
        path.rpartition('/')[0] + '/' + name)


def misc_capacity_file():
    """The misc cgroup's capacity file: Nova names it since 2026.2."""
    from nova.virt.libvirt import host as libvirt_host
    return getattr(libvirt_host, 'MISC_CONTROL_GROUP_CAPACITY_FILE',
                   '/sys/fs/cgroup/misc.capacity')


def launch_security_types(caps, root):
    """The guest types libvirt's domain capabilities offer to launch.

    ``<launchSecurity supported='yes'>``'s sectype values ('sev',
    'sev-snp'...), [] when unsupported or absent. Read with Nova's own parser
    where it has one (since 2026.2); before, from the XML as that parser
    reads it.

    :param caps: the ``LibvirtConfigDomainCaps`` parsed from ``root``.
    :param root: the domain capabilities' root element.
    """
    from nova.virt.libvirt import config as libvirt_config
    parser = getattr(libvirt_config,
                     'LibvirtConfigDomainCapsFeatureLaunchSecurity', None)
    if parser is not None:
        return [sectype for feature in caps.features
                if isinstance(feature, parser) and feature.supported
                for sectype in feature.sectypes or ()]
    return [value.text for feature in root.iterfind('features/launchSecurity')
            if feature.get('supported') == 'yes'
            for value in feature.iterfind("enum[@name='sectype']/value")]
