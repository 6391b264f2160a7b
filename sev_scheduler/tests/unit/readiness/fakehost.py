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

"""Made-up compute hosts: libvirt's domain capabilities and kvm_amd files."""

import os

_SEV = """
    <sev supported='yes'>
      <cbitpos>51</cbitpos>
      <reducedPhysBits>1</reducedPhysBits>%s%s
    </sev>"""


def domain_capabilities(supported=True, max_guests=494, max_es_guests=15,
                        sectypes=('sev',)):
    """Domain capabilities XML; None leaves a count out, as libvirt < 8.0."""
    if supported:
        sev = _SEV % (
            '' if max_guests is None else
            '\n      <maxGuests>%d</maxGuests>' % max_guests,
            '' if max_es_guests is None else
            '\n      <maxESGuests>%d</maxESGuests>' % max_es_guests)
    else:
        sev = "\n    <sev supported='no'/>"
    launch = ''.join('\n        <value>%s</value>' % sectype
                     for sectype in sectypes)
    return """<domainCapabilities>
  <path>/usr/bin/qemu-system-x86_64</path>
  <domain>kvm</domain>
  <machine>pc-q35-8.2</machine>
  <arch>x86_64</arch>
  <features>%s
    <launchSecurity supported='%s'>
      <enum name='sectype'>%s
      </enum>
    </launchSecurity>
  </features>
</domainCapabilities>
""" % (sev, 'yes' if supported and sectypes else 'no', launch)


def write(root, relative, text):
    """Write a file under root, or remove it when text is None."""
    path = os.path.join(root, relative)
    if text is None:
        if os.path.exists(path):
            os.remove(path)
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as file:
        file.write(text)
    return path


def kvm_amd(sysfs, sev='Y', sev_es='Y', sev_snp='N'):
    """kvm_amd's parameter files under sysfs; None for an absent one."""
    for name, value in (('sev', sev), ('sev_es', sev_es),
                        ('sev_snp', sev_snp)):
        write(sysfs, 'module/kvm_amd/parameters/' + name, value)
    return sysfs
