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

"""Skipping a test that cannot apply to the running Nova, saying why.

Decided by what ``sev_scheduler.compat`` detects, never by version numbers;
the reason names the release that has what the test needs.
"""

import unittest

from nova import version

from sev_scheduler import compat

NOVA = 'Nova %s' % version.version_string()


def requires_model(model):
    """Skip a test of a model the running Nova does not honour."""
    return unittest.skipUnless(
        model in compat.MODELS, '%s needs OpenStack %s; this is %s'
        % (model, compat.FIRST_RELEASE.get(model), NOVA))


def refuses_model(model):
    """Skip a test of refusing a model the running Nova honours."""
    return unittest.skipIf(
        model in compat.MODELS, '%s honours %s: nothing to refuse'
        % (NOVA, model))


def lacks_model(model):
    """Skip a test of what a release without a model does."""
    return unittest.skipIf(
        model in compat.MODELS, '%s honours %s: tested on releases before %s'
        % (NOVA, model, compat.FIRST_RELEASE.get(model)))


#: Skip a test of the image's model as the RequestSpec carries it.
requires_image_model = unittest.skipUnless(
    compat.READS_IMAGE_MODEL, '%s drops the image property '
    'hw_mem_encryption_model before the scheduler' % NOVA)

#: Skip a test of an image model that Nova drops before the scheduler.
drops_image_model = unittest.skipIf(
    compat.READS_IMAGE_MODEL, '%s reads the image property '
    'hw_mem_encryption_model itself: the RequestSpec carries it' % NOVA)


#: Skip a test of ``[libvirt] num_memory_encrypted_guests`` capping slots.
requires_slot_option = unittest.skipUnless(
    compat.CAPS_SLOTS_BY_OPTION, '[libvirt] %s was removed in OpenStack %s; '
    'this is %s' % (compat.LIBVIRT_SLOT_OPTION,
                    compat.LIBVIRT_SLOT_OPTION_REMOVED_IN, NOVA))

#: Skip a test of that option being gone.
removed_slot_option = unittest.skipIf(
    compat.CAPS_SLOTS_BY_OPTION, '[libvirt] %s still caps the SEV slots in '
    '%s (until OpenStack %s)' % (compat.LIBVIRT_SLOT_OPTION, NOVA,
                                 compat.LIBVIRT_SLOT_OPTION_REMOVED_IN))
