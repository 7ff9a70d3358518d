use super::Invalid;

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 100;

/// A page request: `page_num` 1..=2^32 − 1, `page_size` 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub num: u32,
    pub size: u32,
}

impl PageRequest {
    pub fn parse(num: Option<i64>, size: Option<i64>) -> Result<Self, Invalid> {
        let num = num.unwrap_or(1);
        let size = size.unwrap_or(i64::from(DEFAULT_PAGE_SIZE));
        if num < 1 || num > i64::from(u32::MAX) {
            return Err(Invalid::new(format!(
                "page_num must be between 1 and {} (got {num})",
                u32::MAX
            )));
        }
        if !(1..=i64::from(MAX_PAGE_SIZE)).contains(&size) {
            return Err(Invalid::new(format!(
                "page_size must be between 1 and {MAX_PAGE_SIZE} (got {size})"
            )));
        }
        Ok(Self {
            num: num as u32,
            size: size as u32,
        })
    }

    /// Index of the page's first item.
    pub fn offset(&self) -> u64 {
        u64::from(self.num - 1) * u64::from(self.size)
    }
}

/// One page of a listing, with the totals the contract asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub total_count: u64,
    pub page_total: u64,
    pub end_page: bool,
    pub list: Vec<T>,
}

impl<T> Page<T> {
    pub fn new(request: PageRequest, total_count: u64, list: Vec<T>) -> Self {
        let page_total = total_count.div_ceil(u64::from(request.size));
        Self {
            total_count,
            page_total,
            end_page: u64::from(request.num) >= page_total,
            list,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            total_count: self.total_count,
            page_total: self.page_total,
            end_page: self.end_page,
            list: self.list.into_iter().map(f).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_follow_the_contract() {
        let req = PageRequest::parse(Some(2), Some(20)).unwrap();
        let page = Page::new(req, 41, vec![(); 20]);
        assert_eq!((page.page_total, page.end_page), (3, false));
        let last = Page::new(
            PageRequest::parse(Some(3), Some(20)).unwrap(),
            41,
            vec![(); 1],
        );
        assert!(last.end_page);
        let empty = Page::<()>::new(PageRequest::parse(None, None).unwrap(), 0, vec![]);
        assert_eq!((empty.page_total, empty.end_page), (0, true));
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(None, Some(0)).is_err());
        assert!(PageRequest::parse(None, Some(101)).is_err());
        assert_eq!(
            PageRequest::parse(None, None).unwrap(),
            PageRequest { num: 1, size: 20 }
        );
    }
}
