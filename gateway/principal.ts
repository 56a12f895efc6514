/** Who is calling: a subject, its tenant and its roles, always from the credential. */
export interface Principal {
  subject: string;
  tenant: string;
  roles: string[];
}
