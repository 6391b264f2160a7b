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

"""What a compute host tells about its SEV readiness, read from its files.

Each fact is read on its own: one that cannot be read carries the reason,
in words, and the others are still read; a byte that is not UTF-8 is such
a reason, never an exception. Paths follow what Nova's libvirt driver reads
(``nova.virt.libvirt.host``), under a root that tests and operators can
move.
"""

import dataclasses
import os
import sys

from lxml import etree
from oslo_concurrency import processutils
from oslo_config import cfg

import nova.conf.compute
import nova.conf.libvirt
from nova import exception
from nova.virt.libvirt import config as libvirt_config

from sev_scheduler import compat

KERNEL_MODELS = ('sev', 'sev_es', 'sev_snp')
# Nova's paths, relative to /sys.
_SYS = '/sys/'
MISC_CAPACITY = compat.misc_capacity_file()[len(_SYS):]
KERNEL_PARAMETERS = {model: compat.kernel_parameter_file(model)[len(_SYS):]
                     for model in KERNEL_MODELS}
MACHINE_SLICE_MEMORY_MAX = 'fs/cgroup/machine.slice/memory.max'
# Options operators set that the running Nova no longer has.
REMOVED_LIBVIRT_OPTIONS = () if compat.CAPS_SLOTS_BY_OPTION else (
    compat.LIBVIRT_SLOT_OPTION,)


@dataclasses.dataclass
class Fact:
    """A value read from the host, or why it could not be read."""

    value: object = None
    error: str | None = None


@dataclasses.dataclass
class SevCapabilities:
    """What libvirt's domain capabilities say about AMD SEV."""

    #: ``<sev supported='yes'>``.
    supported: bool
    #: ``maxGuests`` and ``maxESGuests``; None where libvirt does not say.
    max_guests: int | None
    max_es_guests: int | None
    #: ``<launchSecurity>`` offers SEV-SNP guests.
    snp_offered: bool


def _not_text(path, error):
    """Why a file's bytes are not text, from a UnicodeDecodeError."""
    return '%s is not text: byte 0x%02x at offset %d (not UTF-8)' % (
        path, error.object[error.start], error.start)


def domain_capabilities(path):
    """libvirt's domain capabilities from a file, stdin ('-') or virsh."""
    try:
        # Bytes, as libvirt wrote them: lxml reads the encoding the XML
        # declares (UTF-8 if none), and a byte outside it is not valid XML.
        if path is None:
            data, _err = processutils.execute('virsh', 'domcapabilities',
                                              binary=True)
        elif path == '-':
            data = sys.stdin.buffer.read()
        else:
            with open(path, 'rb') as xml_file:
                data = xml_file.read()
    except (OSError, processutils.ProcessExecutionError) as error:
        where = path or '"virsh domcapabilities"'
        return Fact(error='cannot read domain capabilities from %s: %s'
                    % (where, getattr(error, 'strerror', None) or error))
    caps = libvirt_config.LibvirtConfigDomainCaps()
    try:
        root = etree.fromstring(data)
        caps.parse_dom(root)
    except etree.Error as error:
        # lxml's message may span lines ("...\nBytes: 0xFF ..."): one row.
        return Fact(error='the domain capabilities are not valid XML: %s'
                    % ' '.join(str(error).split()))
    except exception.InvalidInput as error:
        return Fact(error='not libvirt domain capabilities: %s'
                    % error.format_message())
    except (TypeError, ValueError) as error:
        # Nova's parser reads numbers with int(), empty ones included.
        return Fact(error='the domain capabilities hold a bad value: %s'
                    % error)
    sev = next((feature for feature in caps.features if isinstance(
        feature, libvirt_config.LibvirtConfigDomainCapsFeatureSev)), None)
    for name, number in (('maxGuests', sev and sev.max_guests),
                         ('maxESGuests', sev and sev.max_es_guests)):
        if number is not None and number < 0:
            return Fact(error='the domain capabilities hold a bad value: '
                        '%s is %d, not a number of guests' % (name, number))
    return Fact(SevCapabilities(
        supported=bool(sev and sev.supported),
        max_guests=sev.max_guests if sev else None,
        max_es_guests=sev.max_es_guests if sev else None,
        snp_offered='sev-snp' in compat.launch_security_types(caps, root)))


def _read_text(path):
    """(text, error) of a sysfs file; text is None when it does not exist."""
    try:
        with open(path, 'rb') as sysfs_file:
            data = sysfs_file.read()
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, 'cannot read %s: %s' % (path, error.strerror)
    try:
        return data.decode().strip(), None
    except UnicodeDecodeError as error:
        return None, _not_text(path, error)


def kernel_parameters(sysfs_root):
    """kvm_amd's sev, sev_es, sev_snp: True, False, or None if absent."""
    values = {}
    for model in KERNEL_MODELS:
        path = os.path.join(sysfs_root, KERNEL_PARAMETERS[model])
        text, error = _read_text(path)
        if error:
            return Fact(error=error)
        if text is not None and text not in ('Y', 'N', '1', '0'):
            return Fact(error='%s holds %r, not Y, N, 1 or 0' % (path, text))
        values[model] = None if text is None else text in ('Y', '1')
    return Fact(values)


def misc_capacity(sysfs_root):
    """The misc cgroup's capacity per resource ({'sev': 509, ...}), if any."""
    path = os.path.join(sysfs_root, MISC_CAPACITY)
    text, error = _read_text(path)
    if error or text is None:
        return Fact({}, error)
    try:
        counts = {name: int(count) for name, count in
                  (line.split() for line in text.splitlines()
                   if line.strip())}
    except ValueError:
        counts = None
    if counts is None or any(count < 0 for count in counts.values()):
        return Fact(error='%s is not "<resource> <count>" lines' % path)
    return Fact(counts)


def machine_slice_memory_max(sysfs_root):
    """machine.slice's memory limit in bytes; None when unlimited."""
    path = os.path.join(sysfs_root, MACHINE_SLICE_MEMORY_MAX)
    text, error = _read_text(path)
    if error or text is None or text == 'max':
        return Fact(None, error)
    try:
        limit = int(text)
    except ValueError:
        limit = -1
    if limit < 0:
        return Fact(error='%s holds %r, not a number of bytes' % (path, text))
    return Fact(limit)


@dataclasses.dataclass
class NovaConf:
    """The options of nova.conf the checks read, as Nova reads them."""

    conf: cfg.ConfigOpts
    #: ``[libvirt] num_memory_encrypted_guests`` where the running Nova
    #: has it; None when unset or gone.
    slot_option: int | None
    #: '[libvirt] <option> (in <file>)' for each option set that the
    #: running Nova no longer has.
    removed: list


def nova_conf(paths):
    """nova.conf files, later ones winning, read with Nova's own options."""
    for path in paths:
        # oslo.config reads UTF-8 and says neither file nor byte otherwise;
        # a file that cannot be opened is reported below.
        try:
            with open(path, 'rb') as conf_file:
                conf_file.read().decode()
        except OSError:
            pass
        except UnicodeDecodeError as error:
            return Fact(error='cannot read nova.conf: %s'
                        % _not_text(path, error))
    conf = cfg.ConfigOpts()
    conf.register_opts(nova.conf.compute.ALL_OPTS)
    conf.register_opts(nova.conf.libvirt.ALL_OPTS, group='libvirt')
    try:
        conf(args=[], project='nova', default_config_files=paths,
             default_config_dirs=[])
        removed = []
        for path in paths:
            sections = {}
            cfg.ConfigParser(path, sections).parse()
            removed += ['[libvirt] %s (in %s)' % (name, path)
                        for name in REMOVED_LIBVIRT_OPTIONS
                        if name in sections.get('libvirt', {})]
        # Read each value now, so that a bad one is reported here.
        for name in ('ram_allocation_ratio', 'initial_ram_allocation_ratio',
                     'reserved_host_memory_mb'):
            getattr(conf, name)
        conf.libvirt.hw_machine_type
        slot_option = (getattr(conf.libvirt, compat.LIBVIRT_SLOT_OPTION)
                       if compat.CAPS_SLOTS_BY_OPTION else None)
    except (cfg.Error, ValueError, OSError) as error:
        return Fact(error='cannot read nova.conf (%s): %s'
                    % (', '.join(paths), error))
    return Fact(NovaConf(conf, slot_option, removed))


@dataclasses.dataclass
class HostFacts:
    domain_capabilities: Fact
    kernel: Fact
    misc_capacity: Fact
    machine_slice_memory_max: Fact
    nova_conf: Fact


def read(domcapabilities, sysfs_root, nova_conf_paths):
    return HostFacts(domain_capabilities(domcapabilities),
                     kernel_parameters(sysfs_root),
                     misc_capacity(sysfs_root),
                     machine_slice_memory_max(sysfs_root),
                     nova_conf(nova_conf_paths))
