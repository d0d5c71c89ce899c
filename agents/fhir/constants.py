"""Canonical URLs and code systems of the PDSm / MHD ITI-65 payloads and FR Core patients.

Sources: ANS IG PDSM4DMP examples (``../shared/data/fhir-examples``), FR Core
(``fr-core-patient-ins``, ``fr-core-identity-reliability``), NOS terminologies (TRE_A03, TRE_A07).
"""

from __future__ import annotations

PDSM = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/"
PROFILE_PROVIDE_BUNDLE = PDSM + "pdsm-comprehensive-provide-document-bundle"
PROFILE_SUBMISSION_SET = PDSM + "pdsm-submissionset-comprehensive"
PROFILE_DOCUMENT_REFERENCE = PDSM + "pdsm-comprehensive-document-reference"
PROFILE_SIMPLIFIED_PUBLISH = PDSM + "pdsm-simplified-publish"

FR_CORE = "https://hl7.fr/ig/fhir/core/"
PROFILE_PATIENT_INS = FR_CORE + "StructureDefinition/fr-core-patient-ins"
EXT_IDENTITY_RELIABILITY = FR_CORE + "StructureDefinition/fr-core-identity-reliability"
EXT_BIRTH_LIST_GIVEN_NAME = FR_CORE + "StructureDefinition/fr-core-patient-birth-list-given-name"
EXT_INSEE_CODE = FR_CORE + "StructureDefinition/fr-core-address-insee-code"
CS_IDENTIFIER_TYPE = FR_CORE + "CodeSystem/fr-core-cs-v2-0203"
EXT_BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
CS_INSEE_COMMUNE = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM"

MHD = "https://profiles.ihe.net/ITI/MHD/"
EXT_DESIGNATION_TYPE = MHD + "StructureDefinition/ihe-designationType"
EXT_SOURCE_ID = MHD + "StructureDefinition/ihe-sourceId"
EXT_SOURCE_PATIENT_ID = MHD + "StructureDefinition/ihe-sourcePatientId"
CS_MHD_LIST_TYPES = MHD + "CodeSystem/MHDlistTypes"
CS_FORMAT_CODE = "http://ihe.net/fhir/ihe.formatcode.fhir/CodeSystem/formatcode"

CS_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
CS_VISIBILITY = (
    "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/"
    "TRE-A07-StatutVisibiliteDocument"
)
#: JDV_J58 as the DMP applies it: HL7 ``N`` plus three TRE_A07 visibility codes (domain.md §4).
CONFIDENTIALITY_CODES = {"N": CS_CONFIDENTIALITY}
VISIBILITY_CODES = {
    "INVISIBLE_PATIENT": "Non visible par le patient",
    "INVISIBLE_REPRESENTANTS_LEGAUX": "Non visible par les représentants légaux du patient",
    "MASQUE_PS": "Masqué aux professionnels de santé",
}

CS_SNOMED = "http://snomed.info/sct"
CS_SECTEUR_ACTIVITE = "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite"
CS_CADRE_EXERCICE = "https://mos.esante.gouv.fr/NOS/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice"
URN_IETF = "urn:ietf:rfc:3986"
#: Code system of the test-bed's conformance rules in OperationOutcome.issue.details.
RULES_SYSTEM = "urn:segur-testbed:conformance-rule"

INS_SUBJECT_PREFIX = "Patient?identifier="
